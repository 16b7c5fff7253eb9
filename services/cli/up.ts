// `mirrorlog up [--root DIR] [--target DIR]` (what `npm start` runs): the local stack if
// needed, a producer and an applier in this process, and a live one-line status.
// Ctrl-C stops everything it started, the stack included when it started it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import {
  applierConfigSchema,
  commonShape,
  producerConfigSchema,
  upConfigSchema,
  type UpConfig,
} from '../../schemas/config.ts';
import { ensureStackUp, stackDown } from '../../infra/stack/index.ts';
import { startApplier, DEFAULT_APPLIER_METRICS_PORT } from '../applier/applier.ts';
import { startProducer, DEFAULT_PRODUCER_METRICS_PORT } from '../producer/producer.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { overlapOf } from '../shared/tree-metadata.ts';
import { firstFailure, runUntilSignal } from '../shared/service-lifecycle.ts';

/** The real path of `dir`, or of its nearest existing ancestor joined with the rest (it may not exist yet). */
function realPathOf(dir: string): string {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return dir;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

function usesLocalStack(config: UpConfig): boolean {
  const defaults = {
    brokers: commonShape.brokers.parse(undefined),
    s3Endpoint: commonShape.s3Endpoint.parse(undefined),
  };
  return config.brokers.join(',') === defaults.brokers.join(',') && config.s3Endpoint === defaults.s3Endpoint;
}

/** Sum of a metric's values over all its labels. */
async function total(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

function statusPrinter(producer: Registry, applier: Registry, describe: string): () => Promise<void> {
  const tty = process.stdout.isTTY === true;
  let previous = { applied: 0, at: Date.now() };
  let lastLine = '';
  return async () => {
    const published = await total(producer, 'mirrorlog_producer_events_published_total');
    const applied = await total(applier, 'mirrorlog_applier_events_total');
    const lag = await total(applier, 'mirrorlog_applier_lag_records');
    const queued = await total(producer, 'mirrorlog_producer_hints_queued');
    const now = Date.now();
    const rate = Math.round(((applied - previous.applied) * 1000) / Math.max(1, now - previous.at));
    previous = { applied, at: now };
    const line =
      `${describe} | published ${published} · applied ${applied} · lag ${lag} · ` +
      `queued ${queued} · ${rate} events/s`;
    if (tty) process.stdout.write(`\r${line.padEnd(lastLine.length)}`);
    else if (line.replace(/\d+ events\/s$/, '') !== lastLine.replace(/\d+ events\/s$/, ''))
      process.stdout.write(`${line}\n`);
    lastLine = line;
  };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(upConfigSchema, {
    argv,
    env,
    usage: [
      'usage: mirrorlog up [--root DIR] [--target DIR] [options]',
      '',
      'Runs the local stack (if needed), a producer watching --root and an applier writing --target, until Ctrl-C.',
      'It serves health and metrics on two consecutive ports: --metrics-port N for the producer, N+1 for the applier.',
    ].join('\n'),
    help: {
      metricsPort: {
        text: 'first of two consecutive ports: N for the producer, N+1 for the applier (0: any free ones)',
        defaultText: '9464 (so 9464 and 9465)',
      },
      replica: { defaultText: 'local-<hash of the target path>' },
    },
  });
  if (config === HELP_SHOWN) return 0;
  const root = path.resolve(config.root);
  const target = path.resolve(config.target);
  // Before anything is created: a target inside the source recursed without end, an equal one deleted source files.
  const overlap = overlapOf(realPathOf(root), realPathOf(target));
  if (overlap !== undefined) {
    const relation = overlap === 'equal' ? 'is the same directory as' : overlap === 'inside' ? 'contains' : 'is inside';
    throw new CliError(`--target ${target} ${relation} --root ${root}: a replica and its source must not overlap`);
  }
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(target, { recursive: true });
  const replica =
    config.replica ?? `local-${createHash('sha256').update(fs.realpathSync(target)).digest('hex').slice(0, 8)}`;
  const logger = createLogger({ level: config.logLevel, name: 'up' });

  return runUntilSignal('up', async () => {
    let stackStarted = false;
    if (usesLocalStack(config)) {
      process.stdout.write(
        'mirrorlog up: starting the local Kafka + S3 stack if needed (the first run installs it: a few minutes)...\n',
      );
      stackStarted = (await ensureStackUp()).started;
    }
    const common = { ...config, metricsPort: undefined };
    const producer = await startProducer(
      producerConfigSchema.parse({
        ...common,
        root,
        source: config.source,
        exclude: config.exclude,
        metricsPort: config.metricsPort ?? DEFAULT_PRODUCER_METRICS_PORT,
      }),
      { logger: logger.child({ service: 'producer' }) },
    );
    const applier = await startApplier(
      // --metrics-port N: the producer on N, the applier on N+1 (0: both ephemeral).
      applierConfigSchema.parse({
        ...common,
        target,
        replica,
        metricsPort:
          config.metricsPort === undefined
            ? DEFAULT_APPLIER_METRICS_PORT
            : config.metricsPort === 0
              ? 0
              : config.metricsPort + 1,
      }),
      { logger: logger.child({ service: 'applier' }) },
    ).catch(async (error: unknown) => {
      await producer.stop();
      throw error;
    });
    process.stdout.write(
      `mirrorlog up: mirroring ${root} → ${target} (topic ${config.topic}, replica ${replica}); ` +
        `health and metrics on :${producer.port} (producer) and :${applier.port} (applier). Ctrl-C stops.\n`,
    );
    const print = statusPrinter(
      producer.metrics.registry,
      applier.registry,
      `${path.relative(process.cwd(), root) || root} → ${path.relative(process.cwd(), target) || target}`,
    );
    const ticker = setInterval(() => void print(), 1000);
    return {
      ready: producer.ready,
      // Either half dying ends `up` with its reason (and the status line stops with it).
      failure: firstFailure({ producer, applier }),
      async stop() {
        clearInterval(ticker);
        process.stdout.write('\nmirrorlog up: stopping\n');
        await Promise.all([producer.stop(), applier.stop()]);
        if (stackStarted) {
          process.stdout.write('mirrorlog up: stopping the stack it started\n');
          await stackDown();
        }
      },
    };
  });
}

// `mirrorlog status --serve`: samples Kafka and the services' metrics every --sample,
// keeps the last hour, and serves it as a live page (loopback unless --bind says otherwise).
import { isIP } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { StatusConfig } from '../../../schemas/config.ts';
import { kafkaClientSecurity } from '../../shared/kafka-security.ts';
import { createLogger } from '../../shared/logger.ts';
import { runUntilSignal } from '../../shared/service-lifecycle.ts';
import type { PageModel } from './page-model.ts';
import { startPageServer } from './page-server.ts';
import { StatusSampler } from './sampler.ts';
import { StatusHistory } from './status-history.ts';

const HOUR_MS = 3_600_000;

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export async function serveStatus(config: StatusConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'status' });
  if (!isLoopback(config.bind)) {
    process.stderr.write(
      `mirrorlog status: WARNING: serving on ${config.bind}, not loopback: anyone who reaches this address can read ` +
        'the replicas, paths of the metrics endpoints and error reasons (there is no authentication)\n',
    );
  }
  const history = new StatusHistory({ topic: config.topic, windowMs: HOUR_MS, stallAfterMs: config.stallAfter });
  const sampler = new StatusSampler({
    brokers: config.brokers,
    topic: config.topic,
    scrape: config.scrape,
    logger,
    security: kafkaClientSecurity(config),
  });
  let latest: PageModel | undefined;
  return runUntilSignal('status', async () => {
    const server = await startPageServer({
      host: config.bind,
      port: config.port,
      state: { model: () => latest, series: () => history.series() },
    });
    const host = config.bind.includes(':') ? `[${config.bind}]` : config.bind;
    process.stdout.write(
      `mirrorlog status: serving the status page on http://${host}:${server.port}/ (Ctrl-C stops)\n`,
    );
    const stopping = new AbortController();
    const loop = (async () => {
      while (!stopping.signal.aborted) {
        const began = Date.now();
        const { model, point } = history.add(await sampler.sample(() => Date.now()));
        latest = model;
        server.publish(model, point);
        await delay(Math.max(0, config.sample - (Date.now() - began)), undefined, { signal: stopping.signal }).catch(
          () => undefined,
        );
      }
    })();
    return {
      ready: loop,
      async stop() {
        stopping.abort();
        await loop;
        await Promise.all([server.close(), sampler.close()]);
      },
    };
  });
}

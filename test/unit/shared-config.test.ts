import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { applierConfigSchema, commonShape, producerConfigSchema } from '../../schemas/config.ts';
import {
  HELP_SHOWN,
  defaultStateDir,
  describeOptions,
  loadConfig,
  redactConfig,
  splitList,
} from '../../services/shared/config.ts';
import type { LoadConfigOptions } from '../../services/shared/config.ts';
import { CliError } from '../../services/shared/errors.ts';

const USAGE = 'usage: mirrorlog applier --target DIR --replica NAME [options]';
const REQUIRED = ['--target', '/t', '--replica', 'r1'];

function load(
  argv: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
  extra: Partial<LoadConfigOptions> = {},
) {
  const config = loadConfig(applierConfigSchema, {
    argv,
    env,
    usage: USAGE,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    },
    ...extra,
  });
  assert.notEqual(config, HELP_SHOWN);
  if (config === HELP_SHOWN) throw new Error('unreachable');
  return config;
}

function loadError(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}): string {
  try {
    load(argv, env, files);
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error.message;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('fills schema defaults when only required options are given', () => {
    const config = load(REQUIRED);
    assert.equal(config.target, '/t');
    assert.equal(config.replica, 'r1');
    assert.deepEqual(config.brokers, ['127.0.0.1:9092']);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.rebuild, false);
    assert.equal(config.metricsPort, undefined);
  });

  it('takes flag over env over config file over default', () => {
    const files = {
      '/etc/ml.json': JSON.stringify({ topic: 'from-file', bucket: 'file-bucket', durability: 'fsync', partitions: 3 }),
    };
    const env = { MIRRORLOG_CONFIG: '/etc/ml.json', MIRRORLOG_TOPIC: 'from-env', MIRRORLOG_BUCKET: 'env-bucket' };
    const config = load([...REQUIRED, '--topic', 'from-flag'], env, files);
    assert.equal(config.topic, 'from-flag');
    assert.equal(config.bucket, 'env-bucket');
    assert.equal(config.durability, 'fsync');
    assert.equal(config.partitions, 3);
    assert.equal(config.commitInterval, 1000);
  });

  it('prefers --config over MIRRORLOG_CONFIG', () => {
    const files = { '/a.json': '{"topic":"a"}', '/b.json': '{"topic":"b"}' };
    assert.equal(load([...REQUIRED, '--config', '/b.json'], { MIRRORLOG_CONFIG: '/a.json' }, files).topic, 'b');
  });

  it('treats an empty environment variable as unset', () => {
    assert.equal(load(REQUIRED, { MIRRORLOG_TOPIC: '' }).topic, 'mirrorlog.events');
  });

  it('accepts list options repeated, comma-separated, from env, and keeps glob braces whole', () => {
    assert.deepEqual(load([...REQUIRED, '--brokers', 'a:1,b:2', '--brokers', 'c:3']).brokers, ['a:1', 'b:2', 'c:3']);
    assert.deepEqual(load(REQUIRED, { MIRRORLOG_BROKERS: 'a:1, b:2' }).brokers, ['a:1', 'b:2']);
    const producer = loadConfig(producerConfigSchema, {
      argv: ['--root', '/r', '--exclude', '*.{tmp,swp},.git/**', '--exclude', 'x'],
      env: {},
      usage: '',
    });
    assert.ok(producer !== HELP_SHOWN);
    assert.deepEqual(producer.exclude, ['*.{tmp,swp}', '.git/**', 'x']);
  });

  it('takes booleans as bare flags and as env words', () => {
    assert.equal(load([...REQUIRED, '--rebuild']).rebuild, true);
    assert.equal(load(REQUIRED, { MIRRORLOG_REBUILD: 'yes' }).rebuild, true);
    assert.match(loadError([...REQUIRED, '--rebuild=yes']), /'--rebuild' is a bare flag/);
  });

  it('parses durations written with units', () => {
    assert.equal(load([...REQUIRED, '--history-window', '2h']).historyWindow, 7_200_000);
  });

  it('names an unknown flag and lists the options', () => {
    const message = loadError([...REQUIRED, '--rebiuld']);
    assert.match(message, /^unknown option '--rebiuld' \(options: .*--rebuild/);
  });

  it('rejects positional arguments and flags missing their value', () => {
    assert.match(loadError(['stray']), /unexpected argument 'stray'/);
    assert.match(loadError(['--topic']), /option '--topic' needs a value/);
  });

  it('names an invalid enum value by flag and env var, with the allowed values', () => {
    assert.equal(
      loadError([...REQUIRED, '--log-level', 'loud']),
      "invalid --log-level (MIRRORLOG_LOG_LEVEL): expected one of trace|debug|info|warn|error|fatal|silent; got 'loud'",
    );
  });

  it('says which layer a bad value came from', () => {
    assert.match(
      loadError(REQUIRED, { MIRRORLOG_METRICS_PORT: 'x' }),
      /invalid --metrics-port \(MIRRORLOG_METRICS_PORT\): expected number; got 'x' \(from the environment\)/,
    );
    const files = { '/c.json': '{"durability":"never"}' };
    assert.match(
      loadError([...REQUIRED, '--config', '/c.json'], {}, files),
      /invalid --durability .* got 'never' \(from config file \/c.json\)/,
    );
  });

  it('points at the bad item of a list and reports every issue', () => {
    const message = loadError(['--brokers', 'ok:1,bad']);
    assert.match(message, /invalid --brokers \(MIRRORLOG_BROKERS\) \(item 1\): expected host:port; got 'bad'/);
    assert.match(message, /missing required option --target \(MIRRORLOG_TARGET\)/);
    assert.match(message, /missing required option --replica \(MIRRORLOG_REPLICA\)/);
  });

  it('names unknown keys of the config file', () => {
    const files = { '/c.json': '{"topic":"t","tpoic":"x","rebiuld":true,"$schema":"./config.schema.json"}' };
    assert.match(
      loadError([...REQUIRED, '--config', '/c.json'], {}, files),
      /config file \/c.json: unknown options 'tpoic', 'rebiuld'/,
    );
  });

  it('reports unreadable or malformed config files', () => {
    assert.match(
      loadError([...REQUIRED, '--config', '/missing.json']),
      /cannot read config file \/missing.json: ENOENT/,
    );
    assert.match(
      loadError([...REQUIRED, '--config', '/c.json'], {}, { '/c.json': '{topic' }),
      /config file \/c.json is not valid JSON/,
    );
    assert.match(
      loadError([...REQUIRED, '--config', '/c.json'], {}, { '/c.json': '[1]' }),
      /must hold one JSON object/,
    );
  });

  it('never puts a secret value in an error message', () => {
    const schema = z.object({
      s3SecretKey: z
        .string()
        .regex(/^AK/, 'starts with AK')
        .superRefine((v, ctx) => {
          if (v.length < 40) ctx.addIssue({ code: 'custom', message: `too short: '${v}'` });
        }),
    });
    for (const argv of [
      ['--s3-secret-key', 'hunter2-secret'],
      ['--s3-secret-key=hunter2-secret'],
      ['--s3-secret=hunter2-secret'],
      ['--s3-secret-kye', 'hunter2-secret'],
    ]) {
      assert.throws(
        () => loadConfig(schema, { argv, env: {}, usage: '' }),
        (error: unknown) =>
          error instanceof CliError && error.message.includes('--s3-secret') && !error.message.includes('hunter2'),
      );
    }
  });

  it('derives flags for a new schema option with no change to the loader', () => {
    const schema = z.object({
      ...commonShape,
      widgetCount: z.coerce.number().int().default(1),
      dryRun: z.boolean().default(false),
    });
    const config = loadConfig(schema, { argv: ['--widget-count', '7', '--dry-run'], env: {}, usage: '' });
    assert.ok(config !== HELP_SHOWN);
    assert.equal(config.widgetCount, 7);
    assert.equal(config.dryRun, true);
    const fromEnv = loadConfig(schema, { argv: [], env: { MIRRORLOG_WIDGET_COUNT: '9' }, usage: '' });
    assert.ok(fromEnv !== HELP_SHOWN);
    assert.equal(fromEnv.widgetCount, 9);
  });

  it('prints usage with env vars and defaults for --help and returns HELP_SHOWN', () => {
    let printed = '';
    const result = loadConfig(applierConfigSchema, {
      argv: ['--help'],
      env: {},
      usage: USAGE,
      writeHelp: (text) => (printed += text),
    });
    assert.equal(result, HELP_SHOWN);
    assert.ok(printed.startsWith(USAGE));
    assert.match(
      printed,
      /--log-level <trace\|debug\|info\|warn\|error\|fatal\|silent>\n.+\n\s+default: info · MIRRORLOG_LOG_LEVEL/,
    );
    assert.match(printed, /--target <value>\s+.+\n\s+required · MIRRORLOG_TARGET/);
    assert.match(printed, /--brokers <value>\.\.\.\s+.+\n\s+default: 127\.0\.0\.1:9092 · MIRRORLOG_BROKERS/);
    assert.match(printed, /--config <file>\s+.+\n\s+MIRRORLOG_CONFIG/);
    assert.ok(!printed.includes('mirrorlog-local-only'), 'the default secret is not printed');
    // -h works too, and --help wins even when required options are missing.
    assert.equal(
      loadConfig(applierConfigSchema, { argv: ['-h'], env: {}, usage: USAGE, writeHelp: () => {} }),
      HELP_SHOWN,
    );
  });
});

describe('describeOptions', () => {
  it('recognises each option kind of the real schemas', () => {
    const kinds = (schema: z.ZodObject) =>
      Object.fromEntries(describeOptions(schema).map((spec) => [spec.key, spec.kind]));
    const applier = kinds(applierConfigSchema);
    const producer = kinds(producerConfigSchema);
    assert.equal(applier['rebuild'], 'boolean');
    assert.equal(applier['brokers'], 'list');
    assert.equal(producer['exclude'], 'list');
    assert.equal(applier['historyWindow'], 'string');
    assert.equal(applier['metricsPort'], 'string');
    const logLevel = describeOptions(applierConfigSchema).find((spec) => spec.key === 'logLevel');
    assert.deepEqual(logLevel?.choices, ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
    assert.equal(logLevel?.env, 'MIRRORLOG_LOG_LEVEL');
    assert.equal(logLevel?.flag, 'log-level');
  });
});

describe('splitList', () => {
  it('splits on top-level commas only', () => {
    assert.deepEqual(splitList('a, b,,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitList('**/*.{jpg,png},tmp/{a,{b,c}}/x'), ['**/*.{jpg,png}', 'tmp/{a,{b,c}}/x']);
  });
});

describe('redactConfig', () => {
  it('replaces secrets that are set and leaves the rest', () => {
    const config = load(REQUIRED);
    const redacted = redactConfig(config);
    assert.equal(redacted.s3SecretKey, '***');
    assert.equal(redacted.s3AccessKey, '***');
    assert.equal(redacted.topic, config.topic);
    assert.equal(config.s3SecretKey, 'mirrorlog-local-only', 'the original is untouched');
    assert.deepEqual(redactConfig({ topic: 't' }), { topic: 't' });
  });
});

describe('defaultStateDir', () => {
  it('uses XDG_STATE_HOME when absolute, else ~/.local/state', () => {
    assert.equal(defaultStateDir('r1', { XDG_STATE_HOME: '/xdg' }, '/home/u'), '/xdg/mirrorlog/r1');
    assert.equal(defaultStateDir('r1', {}, '/home/u'), '/home/u/.local/state/mirrorlog/r1');
    assert.equal(defaultStateDir('r1', { XDG_STATE_HOME: 'relative' }, '/home/u'), '/home/u/.local/state/mirrorlog/r1');
  });
});

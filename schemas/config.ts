// The configuration contract of every service. One table of options is the single
// source for the zod schema, the command-line flag (--kebab-case), the environment
// variable (MIRRORLOG_SCREAMING_SNAKE) and the config file key (camelCase).
// Precedence: flag > environment > config file > default.
import { z } from 'zod';
import { DEFAULT_INLINE_MAX_BYTES, MAX_INLINE_BYTES } from './event.ts';

/** The local stack's endpoints and development credentials: the defaults of every service. */
export const LOCAL_STACK = {
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
  s3Port: 8333,
  s3AccessKey: 'mirrorlog',
  s3SecretKey: 'mirrorlog-local-only',
  region: 'us-east-1',
} as const;

export const DEFAULT_TOPIC = 'mirrorlog.events';
export const DEFAULT_BUCKET = 'mirrorlog';
export const DEFAULT_PARTITIONS = 12;
export const DEFAULT_HISTORY_WINDOW_MS = 7 * 24 * 3600 * 1000;
/** `mirrorlog status --serve`'s port. */
export const DEFAULT_STATUS_PORT = 9470;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `15m`, `2h`, `7d` or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
}

/** A duration option; `--help` shows its default in units (config-options.ts knows it by identity). */
export const duration = z.union([
  z.number().int().nonnegative(),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 30s, 15m, 2h or 7d, got '${text}'` });
      return z.NEVER;
    }
    return ms;
  }),
]);

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
]);
/** A list given as an array (config file, repeated flag) or as one comma-separated string (env). */
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s.length > 0));
const name = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, underscore and dash only (1-100 chars)');

/** `--max-delete`: off, a number of entries, or a share of the tree. */
export type MaxDelete =
  { kind: 'off' } | { kind: 'default' } | { kind: 'count'; count: number } | { kind: 'percent'; percent: number };

/** Parses `0` (off), `5000` (entries), `25%` (of the tree) or `auto` (the default); undefined when it is neither. */
export function parseMaxDelete(text: string): MaxDelete | undefined {
  const trimmed = text.trim();
  if (trimmed === 'auto') return { kind: 'default' };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(trimmed);
  if (percent !== null) {
    const value = Number(percent[1]);
    if (value > 100) return undefined;
    return value === 0 ? { kind: 'off' } : { kind: 'percent', percent: value };
  }
  if (!/^\d+$/.test(trimmed)) return undefined;
  const count = Number(trimmed);
  return count === 0 ? { kind: 'off' } : { kind: 'count', count };
}

/** `--max-delete`: a count of entries, a percentage of the tree, or 0 (off). */
const maxDelete = z
  .union([z.number().int().nonnegative().transform(String), z.string()])
  .transform((text, ctx): MaxDelete => {
    const parsed = parseMaxDelete(text);
    if (parsed === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a number of entries (5000), a percentage (25%) or 0 (no limit), got '${text}'`,
      });
      return z.NEVER;
    }
    return parsed;
  });

/** How the producer learns of changes (see services/producer/watch/). */
export const WATCHER_CHOICES = ['auto', 'fanotify', 'inotify', 'parcel'] as const;
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Options every service shares. */
export const commonShape = {
  brokers: list
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1))
    .default([`127.0.0.1:${LOCAL_STACK.kafkaPort}`]),
  topic: name.default(DEFAULT_TOPIC),
  partitions: positiveInt.max(10_000).default(DEFAULT_PARTITIONS),
  historyWindow: duration.default(DEFAULT_HISTORY_WINDOW_MS),
  s3Endpoint: z.url({ protocol: /^https?$/ }).default(`http://127.0.0.1:${LOCAL_STACK.s3Port}`),
  s3AccessKey: z.string().min(1).default(LOCAL_STACK.s3AccessKey),
  s3SecretKey: z.string().min(1).default(LOCAL_STACK.s3SecretKey),
  s3Region: z.string().min(1).default(LOCAL_STACK.region),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)')
    .default(DEFAULT_BUCKET),
  s3Prefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, "empty, or path segments each ending with '/'")
    .default(''),
  // Topics made for a cluster (services/shared/topic-replication.ts): on 3+ brokers the
  // events and dead-letter topics get 3 replicas, 2 of them in sync for every write.
  replicationFactor: positiveInt.max(32).optional(),
  minInsyncReplicas: positiveInt.max(32).optional(),
  /** Accepts one copy of the log on a cluster of several brokers (a broker's loss loses data). */
  allowSingleReplica: bool.default(false),
  // Secure clusters (services/shared/kafka-security.ts): TLS with a private CA and client
  // certificates, SASL PLAIN or SCRAM. The password comes from a file or the environment.
  kafkaTls: bool.default(false),
  kafkaCaFile: z.string().min(1).optional(),
  kafkaCertFile: z.string().min(1).optional(),
  kafkaKeyFile: z.string().min(1).optional(),
  kafkaSaslMechanism: z.enum(KAFKA_SASL_MECHANISMS).optional(),
  kafkaSaslUsername: z.string().min(1).optional(),
  kafkaSaslPassword: z.string().min(1).optional(),
  kafkaSaslPasswordFile: z.string().min(1).optional(),
  /** `https://host/bucket/key` (true: MinIO, SeaweedFS, Ceph) or `https://bucket.host/key` (false: AWS S3's preferred form). */
  s3PathStyle: bool.default(true),
  /** A private CA for an https S3 endpoint (the system's CAs are trusted too). */
  s3CaFile: z.string().min(1).optional(),
  stateDir: z.string().min(1).optional(),
  metricsPort: port.optional(),
  metricsHost: z.string().min(1).default('127.0.0.1'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  statusUrl: z.url({ protocol: /^https?$/ }).default(`http://127.0.0.1:${DEFAULT_STATUS_PORT}/`),
};

export const producerConfigSchema = z.object({
  ...commonShape,
  root: z.string().min(1),
  source: name.optional(),
  exclude: list.default([]),
  quietWindow: duration.default(5),
  reconcileInterval: duration.default(3_600_000),
  reconcileRate: positiveInt.default(50_000),
  watcher: z.enum(WATCHER_CHOICES).default('auto'),
  uploadConcurrency: positiveInt.max(1024).default(16),
  /** Files up to this size travel inside their record instead of through the object store (0: never). */
  inlineMaxBytes: z.coerce.number().int().min(0).max(MAX_INLINE_BYTES).default(DEFAULT_INLINE_MAX_BYTES),
  maxPending: positiveInt.default(5_000),
  /** Deletes one walk or burst may publish: entries (`5000`), a share (`25%`), `0` for no limit. */
  maxDelete: maxDelete
    .prefault('auto')
    .describe(
      'entries (5000), share of the tree (25%), 0 = no limit; ' +
        'auto = 50% or 10000, whichever is smaller (never below 100)',
    ),
  xattrs: bool.default(false),
  acls: bool.default(false),
  /** At start, stop waiting for unreachable servers after this long (0: wait for ever). */
  giveUpAfter: duration
    .default(0)
    .describe('at start, stop waiting for unreachable Kafka or S3 after this long (0: never)'),
  confirmDeletes: bool
    .default(false)
    .describe('publish the deletes this start finds, past the --max-delete guard (once)'),
});

export const DURABILITY_MODES = ['syncfs', 'fsync', 'none'] as const;
export const OWNER_MODES = ['preserve', 'map', 'none'] as const;
/** How replicated entries get their owners (owner-policy.ts); `owner` unset: preserve as root, else none. */
const ownerShape = {
  owner: z.enum(OWNER_MODES).optional(),
  usermap: z.string().default(''),
  groupmap: z.string().default(''),
  numericIds: bool.default(false),
};

export const applierConfigSchema = z.object({
  ...commonShape,
  target: z.string().min(1),
  replica: name,
  rebuild: bool.default(false),
  /** Apply setuid/setgid bits of files as the log says; by default they are stripped (and counted). */
  allowSetid: bool.default(false),
  /** A new replica on a target that already holds files keeps what matches the log (hash-checked), then converges. */
  adopt: bool.default(false),
  durability: z.enum(DURABILITY_MODES).default('syncfs'),
  ...ownerShape,
  fetchConcurrency: positiveInt.max(1024).default(32),
  commitInterval: duration.default(1000),
  /** At start, stop waiting for an unreachable Kafka or S3 after this long (0: keep waiting). */
  giveUpAfter: duration.default(0),
});

/** `mirrorlog up`: the local stack, a producer and an applier in one process (npm start). */
export const upConfigSchema = z.object({
  ...commonShape,
  root: z.string().min(1).default('./data/source'),
  target: z.string().min(1).default('./data/replica'),
  source: name.optional(),
  replica: name.optional(),
  exclude: list.default([]),
  /** Passed to the applier: a replica on a target that already holds files (see the applier's options). */
  adopt: bool.default(false),
  rebuild: bool.default(false),
  logLevel: z.enum(LOG_LEVELS).default('warn'),
});

/** `mirrorlog restore`: the tree as it was at a time, into an empty directory. */
export const restoreConfigSchema = z.object({
  ...commonShape,
  target: z.string().min(1),
  at: z.string().min(1),
  /** Restore setuid/setgid bits of files as the log says; by default they are stripped, as the applier does. */
  allowSetid: bool.default(false),
  ...ownerShape,
  fetchConcurrency: positiveInt.max(1024).default(16),
});

/** `mirrorlog verify`: a replica compared with the log. */
export const verifyConfigSchema = z.object({
  ...commonShape,
  target: z.string().min(1),
  replica: name,
  hash: bool.default(false),
  repair: bool.default(false),
  /** The replica's applier runs with --allow-setid: expect setuid/setgid bits on files. */
  allowSetid: bool.default(false),
  /** The replica's applier options for owners: what `verify` expects them to be. */
  ...ownerShape,
  json: bool.default(false),
  fetchConcurrency: positiveInt.max(1024).default(16),
});

/** `mirrorlog gc`: deletes content no retained record references, after a grace period. */
export const gcConfigSchema = z.object({
  ...commonShape,
  /** Objects written more recently are kept, referenced or not. */
  grace: duration.default(24 * 3600 * 1000),
  dryRun: bool.default(false),
  /** Forget a tree registered under the prefix (its topic is gone for good): gc stops keeping its content. */
  unregister: name.optional(),
  /** Allows a grace period below one hour (only when no producer publishes to the topic). */
  force: bool.default(false),
  /** Deletes nothing: asks the producer side to upload again what the log references and the store lacks. */
  heal: bool.default(false),
  json: bool.default(false),
  fetchConcurrency: positiveInt.max(1024).default(16),
});

/** `mirrorlog status`: reads the topic and the replicas' consumer groups. */
export const statusConfigSchema = z.object({
  ...commonShape,
  json: bool.default(false),
  /** How long to watch the committed offsets move, for the rates. */
  sample: duration.default(2000),
  /** A replica that is behind and has committed nothing for this long is stalled (exit 1). */
  stallAfter: duration.default(60_000),
  /** A replica without an applier whose last heartbeat is older than this is offline (exit 1). */
  offlineAfter: duration.default(120_000),
  serve: bool.default(false),
  port: port.default(DEFAULT_STATUS_PORT),
  bind: z.string().min(1).default('127.0.0.1'),
  /** The services' metrics endpoints the page shows (producer 9464 and applier 9465 by default). */
  scrape: list
    .pipe(z.array(z.url({ protocol: /^https?$/ })))
    .default(['http://127.0.0.1:9464/metrics', 'http://127.0.0.1:9465/metrics']),
});

export type CommonConfig = z.infer<z.ZodObject<typeof commonShape>>;
export type ProducerConfig = z.infer<typeof producerConfigSchema>;
export type ApplierConfig = z.infer<typeof applierConfigSchema>;
export type StatusConfig = z.infer<typeof statusConfigSchema>;
export type UpConfig = z.infer<typeof upConfigSchema>;
export type GcConfig = z.infer<typeof gcConfigSchema>;

/** `s3SecretKey` → `MIRRORLOG_S3_SECRET_KEY`. */
export function envName(key: string): string {
  return `MIRRORLOG_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** `s3SecretKey` → `s3-secret-key`. */
export function flagName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Keys whose values never appear in logs or error messages. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['s3SecretKey', 's3AccessKey', 'kafkaSaslPassword']);

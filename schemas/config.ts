// The configuration contract of every service. One table of options is the single
// source for the zod schema, the command-line flag (--kebab-case), the environment
// variable (MIRRORLOG_SCREAMING_SNAKE) and the config file key (camelCase).
// Precedence: flag > environment > config file > default.
import { z } from 'zod';
import { MAX_INLINE_BYTES } from './event.ts';

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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `15m`, `2h`, `7d` or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
}

const duration = z.union([
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
const name = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, underscore and dash only (1-100 chars)');

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Options every service shares. */
export const commonShape = {
  brokers: list.pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1)).default([`127.0.0.1:${LOCAL_STACK.kafkaPort}`]),
  topic: name.default(DEFAULT_TOPIC),
  partitions: positiveInt.max(10_000).default(DEFAULT_PARTITIONS),
  historyWindow: duration.default(DEFAULT_HISTORY_WINDOW_MS),
  s3Endpoint: z.url({ protocol: /^https?$/ }).default(`http://127.0.0.1:${LOCAL_STACK.s3Port}`),
  s3AccessKey: z.string().min(1).default(LOCAL_STACK.s3AccessKey),
  s3SecretKey: z.string().min(1).default(LOCAL_STACK.s3SecretKey),
  s3Region: z.string().min(1).default(LOCAL_STACK.region),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)').default(DEFAULT_BUCKET),
  s3Prefix: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, "empty, or path segments each ending with '/'").default(''),
  stateDir: z.string().min(1).optional(),
  metricsPort: port.optional(),
  metricsHost: z.string().min(1).default('127.0.0.1'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
};

export const producerConfigSchema = z.object({
  ...commonShape,
  root: z.string().min(1),
  source: name.optional(),
  exclude: list.default([]),
  quietWindow: duration.default(5),
  reconcileInterval: duration.default(3_600_000),
  reconcileRate: positiveInt.default(50_000),
  uploadConcurrency: positiveInt.max(1024).default(16),
  /** Files up to this size travel inside their record instead of through the object store (0: never). */
  inlineMaxBytes: z.coerce.number().int().min(0).max(MAX_INLINE_BYTES).default(16 * 1024),
  maxPending: positiveInt.default(5_000),
});

export const DURABILITY_MODES = ['syncfs', 'fsync', 'none'] as const;

export const applierConfigSchema = z.object({
  ...commonShape,
  target: z.string().min(1),
  replica: name,
  rebuild: bool.default(false),
  /** A new replica on a target that already holds files keeps what matches the log (hash-checked), then converges. */
  adopt: bool.default(false),
  durability: z.enum(DURABILITY_MODES).default('syncfs'),
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
  fetchConcurrency: positiveInt.max(1024).default(16),
});

/** `mirrorlog verify`: a replica compared with the log. */
export const verifyConfigSchema = z.object({
  ...commonShape,
  target: z.string().min(1),
  replica: name,
  hash: bool.default(false),
  repair: bool.default(false),
  json: bool.default(false),
  fetchConcurrency: positiveInt.max(1024).default(16),
});

/** `mirrorlog gc`: deletes content no retained record references, after a grace period. */
export const gcConfigSchema = z.object({
  ...commonShape,
  /** Objects written more recently are kept, referenced or not. */
  grace: duration.default(24 * 3600 * 1000),
  dryRun: bool.default(false),
  /** Allows a grace period below one hour (only when no producer publishes to the topic). */
  force: bool.default(false),
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
export const SECRET_KEYS: ReadonlySet<string> = new Set(['s3SecretKey', 's3AccessKey']);

// The event contract: what a record of the topic says about one path.
// Wire form (JSON value + headers) and domain form (`MirrorEvent`, seq as a number)
// are separate; schemas/codec.ts converts between them.
import { z } from 'zod';
import { AclSchema, hasAttributes, XattrsSchema, type Attributes } from './entry-attributes.ts';
import { isCanonicalName, nameByteLength } from './name-bytes.ts';
import { RelPathSchema, type RelPath } from './rel-path.ts';

/**
 * The newest record format. 2 added `owner`, the mtimes of directories and symlinks, and
 * `mtimeNs`, the exact time in nanoseconds; 3 added `xattrs`, `acl` and `link`. A record
 * is written in the oldest format that holds it (3 only when it carries one of those), so
 * a producer upgraded without --xattrs or --acls feeds appliers that read 2 as long as
 * the tree holds no hard links.
 * An applier reads every version up to its own, and refuses a newer one by name
 * (codec.ts) instead of guessing at its fields.
 */
export const EVENT_VERSION = 3;
export const READABLE_VERSIONS = [1, 2, 3] as const;
/** The format that first carried attributes (`xattrs`, `acl`) and hard-link identities (`link`). */
export const ATTRIBUTES_VERSION = 3;

/** Permission bits, setuid/setgid/sticky included; the file type bits never travel. */
export const MODE_MASK = 0o7777;
export const MAX_TARGET_BYTES = 4096;
/**
 * Files up to this size may travel inside their record (`data`) instead of through the
 * object store: a store round trip per tiny file caps throughput far below what a tree of
 * millions of small files needs (measured: docs/BENCHMARKS.md), and replaying the log
 * then rebuilds them without a single GET.
 */
export const MAX_INLINE_BYTES = 64 * 1024;
/** Files up to this size travel inside their record unless the producer is told otherwise. */
export const DEFAULT_INLINE_MAX_BYTES = 16 * 1024;

/** Standard base64, padded (what the JSON Schema says of inline content). */
const BASE64_PATTERN = '^$|^(?:[0-9a-zA-Z+/]{4})*(?:(?:[0-9a-zA-Z+/]{2}==)|(?:[0-9a-zA-Z+/]{3}=))?$';

/**
 * Whether `text` is standard padded base64 whose bytes are `decoded` (Buffer.from(text,
 * 'base64')), checked in O(1) plus two native scans: Node's decoder skips what is not
 * base64, so anything else decodes short; it also takes the URL-safe alphabet, refused here.
 */
export function isBase64Of(text: string, decoded: Buffer): boolean {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_')) return false;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return decoded.length === (text.length / 4) * 3 - padding;
}

export const SourceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, underscore and dash (1-100)');

/**
 * Decimal string of a non-negative safe integer (hybrid-clock microseconds), compared
 * exactly as a bigint: in the domain a seq is a number, exact below 2^53.
 */
export const SeqTextSchema = z
  .string()
  .regex(/^(0|[1-9]\d{0,15})$/, 'a decimal integer')
  .refine((s) => BigInt(s) <= BigInt(Number.MAX_SAFE_INTEGER), 'seq out of range');

const safeUint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const mtimeMs = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
/** Nanoseconds since the epoch as a decimal string (a JSON number cannot hold them exactly). */
const mtimeNs = z
  .string()
  .regex(/^-?(0|[1-9]\d{0,18})$/, 'nanoseconds since the epoch, a decimal integer')
  .optional()
  .meta({ description: 'The mtime in nanoseconds since the epoch (format 2); mtimeMs is its floor in ms' });

/** A user or group name as /etc/passwd and /etc/group hold them. */
const AccountNameSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^:\s\0/]+$/, 'a user or group name (no colon, slash, NUL or white space)');

const idSchema = z.number().int().nonnegative().max(0xfffffffe);

export const OwnerSchema = z
  .strictObject({
    uid: idSchema,
    gid: idSchema,
    user: AccountNameSchema.optional(),
    group: AccountNameSchema.optional(),
  })
  .meta({
    description:
      "The entry's numeric owner and group on the source, with their names when the source knows them " +
      '(an applier maps by name unless told --numeric-ids, as rsync does)',
  });

const attributeFields = { xattrs: XattrsSchema.optional(), acl: AclSchema.optional() };

/** Identity of an inode on the source while it lives: device, inode number and birth time. */
export const LinkIdSchema = z
  .string()
  .regex(/^\d{1,20}:\d{1,20}:-?\d{1,20}$/, 'device:inode:birth time')
  .meta({
    description:
      'Files the source holds as hard links of one inode carry the same id (format 3): ' +
      'the applier makes them hard links of one another',
  });

const wireBase = {
  v: z.literal(READABLE_VERSIONS),
  source: SourceIdSchema,
  seq: SeqTextSchema.meta({ description: 'Monotonic per source: hybrid-clock microseconds, as a decimal string' }),
  ts: safeUint.meta({ description: 'When the change was detected, ms since the epoch' }),
  path: RelPathSchema,
  owner: OwnerSchema.optional(),
};

export const SymlinkTargetSchema = z
  .string()
  .meta({ description: 'The link target, stored verbatim and never followed (bytes escaped as in paths)' })
  .min(1, 'must not be empty')
  .refine((t) => !t.includes('\0'), 'must not contain NUL')
  .refine(isCanonicalName, 'must escape bytes as the canonical form does (one text per target)')
  .refine((t) => nameByteLength(t) <= MAX_TARGET_BYTES, `must be at most ${MAX_TARGET_BYTES} bytes`);

export const WireFileEventSchema = z.strictObject({
  ...wireBase,
  op: z.literal('file'),
  size: safeUint,
  mode: z.number().int().min(0).max(MODE_MASK),
  mtimeMs,
  mtimeNs,
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lowercase hex digits'),
  // Checked as base64 by decodeRecord (isBase64Of), at a fraction of z.base64()'s cost
  // (a regex and atob over every inline file were ~8% of a replay's main thread).
  data: z
    .string()
    .max(Math.ceil(MAX_INLINE_BYTES / 3) * 4)
    .optional()
    .meta({
      description:
        `The content itself (base64), for files of at most ${MAX_INLINE_BYTES} bytes; ` +
        'otherwise the content is the object sha256/<2 hex>/<hash> of the store',
      format: 'base64',
      contentEncoding: 'base64',
      pattern: BASE64_PATTERN,
    }),
  ...attributeFields,
  link: LinkIdSchema.optional(),
});

export const WireDirEventSchema = z.strictObject({
  ...wireBase,
  op: z.literal('dir'),
  mode: z.number().int().min(0).max(MODE_MASK),
  mtimeMs: mtimeMs.optional().meta({ description: "The directory's own mtime, whole ms (format 2)" }),
  mtimeNs,
  ...attributeFields,
});

export const WireSymlinkEventSchema = z.strictObject({
  ...wireBase,
  op: z.literal('symlink'),
  target: SymlinkTargetSchema,
  mtimeMs: mtimeMs.optional().meta({ description: "The link's own mtime, whole ms (format 2)" }),
  mtimeNs,
  ...attributeFields,
});

/** The JSON value of a record. A delete has no value (a Kafka tombstone). */
export const WireEventSchema = z.discriminatedUnion('op', [
  WireFileEventSchema,
  WireDirEventSchema,
  WireSymlinkEventSchema,
]);
export type WireEvent = z.input<typeof WireEventSchema>;

/** Headers carried by every record, tombstones included (values are UTF-8 text). */
export const HEADER = { version: 'v', source: 'source', seq: 'seq', ts: 'ts' } as const;

export const RecordHeadersSchema = z.object({
  [HEADER.version]: z.literal(READABLE_VERSIONS.map(String)),
  [HEADER.source]: SourceIdSchema,
  [HEADER.seq]: SeqTextSchema,
  [HEADER.ts]: z.string().regex(/^\d{1,16}$/, 'milliseconds since the epoch'),
});

/** Owner and group on the source; names when they resolve there. */
export type Owner = { uid: number; gid: number; user?: string; group?: string };

/** Whether two owners are the same ids (names are how they are mapped, not what they are). */
export function sameOwner(a: Owner | undefined, b: Owner | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.uid === b.uid && a.gid === b.gid;
}

/** Whether an entry needs record format 3: attributes, or a hard-link identity. */
export function needsFormat3(entry: Attributes & { link?: string }): boolean {
  return hasAttributes(entry) || entry.link !== undefined;
}

type EventBase = { source: string; seq: number; ts: number; path: RelPath };
/** `owner`: undefined when the record does not carry one (format 1). */
type Owned = { owner?: Owner } & Attributes;
/** `mtimeNs`: the exact mtime, nanoseconds as a decimal string; undefined in format 1 (mtimeMs then). */
type Timed = { mtimeNs?: string };
/** `data`: the content, when it travels inline (small files). */
export type FileEvent = EventBase &
  Owned &
  Timed & {
    op: 'file';
    size: number;
    mode: number;
    mtimeMs: number;
    hash: string;
    data?: Buffer;
    /** The source inode's identity when more names link it (LinkIdSchema). */
    link?: string;
  };
/** `mtimeMs` of directories and symlinks: undefined in format 1 (left as the applier makes it). */
export type DirEvent = EventBase & Owned & Timed & { op: 'dir'; mode: number; mtimeMs?: number };
export type SymlinkEvent = EventBase & Owned & Timed & { op: 'symlink'; target: string; mtimeMs?: number };
export type DeleteEvent = EventBase & { op: 'delete' };
export type MirrorEvent = FileEvent | DirEvent | SymlinkEvent | DeleteEvent;
export type EventOp = MirrorEvent['op'];

/** What an event says a path holds, without the bookkeeping fields. */
export type EntryState =
  | ({
      kind: 'file';
      size: number;
      mode: number;
      mtimeMs: number;
      hash: string;
      owner?: Owner;
      mtimeNs?: string;
      link?: string;
    } & Attributes)
  | ({ kind: 'dir'; mode: number; owner?: Owner; mtimeMs?: number; mtimeNs?: string } & Attributes)
  | ({ kind: 'symlink'; target: string; owner?: Owner; mtimeMs?: number; mtimeNs?: string } & Attributes);

/** Whole milliseconds of a nanosecond time, floored exactly (what mtimeMs carries). */
export function floorNsToMs(ns: bigint): number {
  const ms = ns / 1_000_000n;
  return Number(ns < 0n && ms * 1_000_000n !== ns ? ms - 1n : ms);
}

// Converts between domain events and Kafka records. Decoding never throws: a bad
// record comes back as a `RecordError` naming the field, so the applier can
// dead-letter it and go on.
import type { z } from 'zod';
import {
  ATTRIBUTES_VERSION,
  EVENT_VERSION,
  floorNsToMs,
  needsFormat3,
  HEADER,
  isBase64Of,
  READABLE_VERSIONS,
  RecordHeadersSchema,
  WireEventSchema,
  type MirrorEvent,
} from './event.ts';
import { describeRelPathProblem, parseRelPath } from './rel-path.ts';

export type EncodedRecord = { key: string; value: string | null; headers: Record<string, string> };

export type RawHeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type RawRecord = {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, RawHeaderValue>;
};

export type RecordErrorCode =
  | 'missing-key'
  | 'invalid-key'
  | 'invalid-json'
  | 'invalid-field'
  | 'invalid-header'
  | 'mismatch'
  | 'too-large'
  /** Written by a newer mirrorlog than this one: its fields are not guessed at. */
  | 'newer-version';

/**
 * The largest event value decoded: an event with its largest inline content (base64) fits
 * with room to spare; anything larger goes through the object store. Checked before the
 * value is converted or parsed.
 */
export const MAX_EVENT_VALUE_BYTES = 256 * 1024;

/**
 * Header of the stand-in records a consumer produces for a fetched batch that inflates
 * beyond its bound (services/shared/bounded-gzip.ts): decoded as `too-large`, so the
 * records are dead-lettered instead of fetched again forever.
 */
export const OVERSIZED_BATCH_HEADER = 'mirrorlog-oversized-batch';

export class RecordError extends Error {
  constructor(
    readonly code: RecordErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RecordError';
  }
}

export type DecodeResult = { ok: true; event: MirrorEvent } | { ok: false; error: RecordError };

/** The oldest format that holds the event: appliers that read 2 keep reading a producer that carries no attributes. */
function formatOf(event: MirrorEvent): number {
  return event.op !== 'delete' && needsFormat3(event) ? ATTRIBUTES_VERSION : 2;
}

export function encodeRecord(event: MirrorEvent): EncodedRecord {
  const version = formatOf(event);
  const headers = {
    [HEADER.version]: String(version),
    [HEADER.source]: event.source,
    [HEADER.seq]: String(event.seq),
    [HEADER.ts]: String(event.ts),
  };
  const base = {
    v: version,
    source: event.source,
    seq: String(event.seq),
    ts: event.ts,
    path: event.path,
    ...(event.op === 'delete' ? {} : present('owner', event.owner)),
  };
  const attributes = event.op === 'delete' ? {} : { ...present('xattrs', event.xattrs), ...present('acl', event.acl) };
  let value: string | null;
  switch (event.op) {
    case 'file':
      value = JSON.stringify({
        ...base,
        op: 'file',
        size: event.size,
        mode: event.mode,
        mtimeMs: event.mtimeMs,
        ...present('mtimeNs', event.mtimeNs),
        hash: event.hash,
        ...(event.data === undefined ? {} : { data: event.data.toString('base64') }),
        ...attributes,
        ...present('link', event.link),
      });
      break;
    case 'dir':
      value = JSON.stringify({
        ...base,
        op: 'dir',
        mode: event.mode,
        ...present('mtimeMs', event.mtimeMs),
        ...present('mtimeNs', event.mtimeNs),
        ...attributes,
      });
      break;
    case 'symlink':
      value = JSON.stringify({
        ...base,
        op: 'symlink',
        target: event.target,
        ...present('mtimeMs', event.mtimeMs),
        ...present('mtimeNs', event.mtimeNs),
        ...attributes,
      });
      break;
    case 'delete':
      value = null;
      break;
    default: {
      const unknown: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
  return { key: event.path, value, headers };
}

/** `{ [key]: value }`, or nothing when the value is undefined (optional fields stay absent). */
function present<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function text(raw: Buffer | string): string | undefined {
  if (typeof raw === 'string') return raw;
  try {
    return strictUtf8.decode(raw);
  } catch {
    return undefined;
  }
}

function fail(code: RecordErrorCode, field: string, message: string): DecodeResult {
  return { ok: false, error: new RecordError(code, field, message) };
}

function firstIssue(error: z.ZodError, prefix: string): { field: string; message: string } {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  return { field: path === '' ? prefix : `${prefix}.${path}`, message: issue?.message ?? 'invalid' };
}

function decodeHeaders(
  raw: Record<string, RawHeaderValue> | undefined,
): { ok: true; headers: Record<string, string> } | { ok: false; result: DecodeResult } {
  const headers: Record<string, string> = {};
  for (const name of Object.values(HEADER)) {
    const value = raw?.[name];
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    if (single === undefined) return { ok: false, result: fail('invalid-header', `headers.${name}`, 'missing') };
    const decoded = text(single);
    if (decoded === undefined)
      return { ok: false, result: fail('invalid-header', `headers.${name}`, 'not valid UTF-8') };
    headers[name] = decoded;
  }
  const version = headers[HEADER.version]!;
  if (/^\d{1,9}$/.test(version) && Number(version) > EVENT_VERSION) {
    const message =
      `record format ${version} is newer than this mirrorlog reads (${READABLE_VERSIONS.join(', ')}): ` +
      'upgrade the applier';
    return { ok: false, result: fail('newer-version', `headers.${HEADER.version}`, message) };
  }
  const parsed = RecordHeadersSchema.safeParse(headers);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, 'headers');
    return { ok: false, result: fail('invalid-header', field, message) };
  }
  return { ok: true, headers };
}

export function decodeRecord(record: RawRecord): DecodeResult {
  const oversized = record.headers?.[OVERSIZED_BATCH_HEADER];
  if (oversized !== undefined)
    return fail('too-large', 'batch', `its batch inflates beyond ${String(oversized)} bytes; not decoded`);
  if (record.value !== null && record.value !== undefined && record.value.length > MAX_EVENT_VALUE_BYTES) {
    return fail('too-large', 'value', `${record.value.length} bytes, more than ${MAX_EVENT_VALUE_BYTES}`);
  }
  if (record.key === null || record.key === undefined) return fail('missing-key', 'key', 'missing');
  const keyText = text(record.key);
  if (keyText === undefined) return fail('invalid-key', 'key', 'not valid UTF-8');
  const key = parseRelPath(keyText);
  if (!key.ok) return fail('invalid-key', 'key', `path ${describeRelPathProblem(key.problem)}`);

  const headerResult = decodeHeaders(record.headers);
  if (!headerResult.ok) return headerResult.result;
  const headers = headerResult.headers;
  const seq = Number(headers[HEADER.seq]);

  if (record.value === null || record.value === undefined) {
    return {
      ok: true,
      event: { op: 'delete', path: key.path, source: headers[HEADER.source]!, seq, ts: Number(headers[HEADER.ts]) },
    };
  }
  const valueText = text(record.value);
  if (valueText === undefined) return fail('invalid-json', 'value', 'not valid UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(valueText);
  } catch (error) {
    return fail('invalid-json', 'value', `not JSON (${(error as Error).message})`);
  }
  const parsed = WireEventSchema.safeParse(json);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, 'value');
    return fail('invalid-field', field, message);
  }
  const wire = parsed.data;
  if (wire.path !== key.path)
    return fail('mismatch', 'value.path', `differs from the record key ${JSON.stringify(key.path)}`);
  if (String(wire.v) !== headers[HEADER.version]) return fail('mismatch', 'value.v', 'differs from the v header');
  if (wire.seq !== headers[HEADER.seq]) return fail('mismatch', 'value.seq', 'differs from the seq header');
  if (wire.source !== headers[HEADER.source]) return fail('mismatch', 'value.source', 'differs from the source header');
  const base = { source: wire.source, seq: Number(wire.seq), ts: wire.ts, path: wire.path };
  const owned = {
    ...present('owner', wire.owner),
    ...present('mtimeNs', wire.mtimeNs),
    ...present('xattrs', wire.xattrs),
    ...present('acl', wire.acl),
  };
  if (needsFormat3(wire) && wire.v < ATTRIBUTES_VERSION)
    return fail(
      'mismatch',
      wire.xattrs !== undefined ? 'value.xattrs' : wire.acl !== undefined ? 'value.acl' : 'value.link',
      `is not part of format ${wire.v}`,
    );
  if (wire.mtimeNs !== undefined && wire.mtimeMs !== undefined && floorNsToMs(BigInt(wire.mtimeNs)) !== wire.mtimeMs)
    return fail('mismatch', 'value.mtimeNs', `is not within mtimeMs ${wire.mtimeMs}`);
  switch (wire.op) {
    case 'file': {
      const event = {
        ...base,
        op: 'file' as const,
        ...owned,
        size: wire.size,
        mode: wire.mode,
        mtimeMs: wire.mtimeMs,
        hash: wire.hash,
        ...present('link', wire.link),
      };
      if (wire.data === undefined) return { ok: true, event };
      const data = Buffer.from(wire.data, 'base64');
      if (!isBase64Of(wire.data, data)) return fail('invalid-field', 'value.data', 'not base64');
      if (data.length !== wire.size)
        return fail('mismatch', 'value.data', `holds ${data.length} bytes, size says ${wire.size}`);
      return { ok: true, event: { ...event, data } };
    }
    case 'dir':
      return {
        ok: true,
        event: { ...base, op: 'dir', ...owned, mode: wire.mode, ...present('mtimeMs', wire.mtimeMs) },
      };
    case 'symlink':
      return {
        ok: true,
        event: { ...base, op: 'symlink', ...owned, target: wire.target, ...present('mtimeMs', wire.mtimeMs) },
      };
  }
}

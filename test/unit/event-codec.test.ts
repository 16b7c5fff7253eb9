import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeRecord, encodeRecord, RecordError, type RawRecord } from '../../schemas/codec.ts';
import { ATTRIBUTES_VERSION, EVENT_VERSION, isBase64Of, type MirrorEvent } from '../../schemas/event.ts';
import { eventJsonSchemaText } from '../../schemas/json-schema.ts';
import { relPath } from '../../schemas/rel-path.ts';

const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const base = { source: 'web-1', seq: 1732550400123456, ts: 1732550400123, path: relPath('news/2026/ü x.html') };
const EVENTS: MirrorEvent[] = [
  { ...base, op: 'file', size: 0, mode: 0o644, mtimeMs: 1732550400000, hash: HASH },
  { ...base, op: 'file', size: 5, mode: 0o644, mtimeMs: 1732550400000, hash: HASH, data: Buffer.from('hello') },
  { ...base, op: 'dir', mode: 0o2755 },
  { ...base, op: 'symlink', target: '../../elsewhere' },
  { ...base, op: 'file', size: 0, mode: 0o640, mtimeMs: 1, hash: HASH, owner: { uid: 33, gid: 33, user: 'www-data' } },
  { ...base, op: 'dir', mode: 0o2775, owner: { uid: 4_000_000_000, gid: 0, user: 'ldap.user', group: 'root' } },
  { ...base, op: 'symlink', target: 'x', owner: { uid: 0, gid: 0 } },
  { ...base, op: 'file', size: 0, mode: 0o644, mtimeMs: -2, mtimeNs: '-1500000', hash: HASH },
  { ...base, op: 'dir', mode: 0o755, mtimeMs: 1732550400123, mtimeNs: '1732550400123456789' },
  { ...base, op: 'delete' },
];
const XATTRS = { 'user.mime_type': Buffer.from('text/html').toString('base64'), 'security.selinux': 'AA==' };
/** Events with attributes (format 3): the others are written in format 2, which older appliers read. */
const ATTRIBUTED: MirrorEvent[] = [
  { ...base, op: 'file', size: 0, mode: 0o640, mtimeMs: 1, hash: HASH, xattrs: XATTRS, acl: { access: 'AgAAAA==' } },
  { ...base, op: 'dir', mode: 0o2775, xattrs: {}, acl: { access: 'AgAAAA==', default: 'AgAAAA==' } },
  { ...base, op: 'symlink', target: 'x', xattrs: { 'trusted.origin': 'eA==' } },
  { ...base, op: 'dir', mode: 0o755, acl: {} },
];

const newer = String(EVENT_VERSION + 1);
/** 2 × 60 KiB: each value within its own bound, together beyond MAX_XATTR_BYTES. */
const bigXattrs = { 'user.a': 'A'.repeat(80_000), 'user.b': 'A'.repeat(80_000) };

function asKafka(record: ReturnType<typeof encodeRecord>): RawRecord {
  const headers = Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)]));
  return { key: Buffer.from(record.key), value: record.value === null ? null : Buffer.from(record.value), headers };
}

test('every kind of event survives encode → Kafka bytes → decode', () => {
  for (const event of [...EVENTS, ...ATTRIBUTED]) {
    const encoded = encodeRecord(event);
    assert.equal(encoded.key, event.path);
    assert.equal(encoded.value === null, event.op === 'delete');
    const v = String(ATTRIBUTED.includes(event) ? ATTRIBUTES_VERSION : 2);
    assert.deepEqual(encoded.headers, { v, source: 'web-1', seq: '1732550400123456', ts: '1732550400123' });
    assert.deepEqual(decodeRecord(asKafka(encoded)), { ok: true, event });
  }
});

function decodeWith(change: (record: RawRecord) => void, event: MirrorEvent = EVENTS[0]!): RecordError {
  const record = asKafka(encodeRecord(event));
  change(record);
  const result = decodeRecord(record);
  assert.equal(result.ok, false, 'expected a decode error');
  return (result as { error: RecordError }).error;
}

function withValue(patch: Record<string, unknown>) {
  return (record: RawRecord) => {
    const value: Record<string, unknown> = {
      ...(JSON.parse(String(record.value)) as Record<string, unknown>),
      ...patch,
    };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete value[k];
    record.value = Buffer.from(JSON.stringify(value));
  };
}

test('invalid records give a typed error naming the field', () => {
  const cases: [string, (record: RawRecord) => void, string, string][] = [
    ['no key', (r) => (r.key = null), 'missing-key', 'key'],
    ['key not UTF-8', (r) => (r.key = Buffer.from([0x61, 0xff])), 'invalid-key', 'key'],
    ['absolute key', (r) => (r.key = Buffer.from('/etc/passwd')), 'invalid-key', 'key'],
    ['key with ..', (r) => (r.key = Buffer.from('../x')), 'invalid-key', 'key'],
    ['key with NUL', (r) => (r.key = Buffer.from('a\0b')), 'invalid-key', 'key'],
    ['value not JSON', (r) => (r.value = Buffer.from('{oops')), 'invalid-json', 'value'],
    ['value not UTF-8', (r) => (r.value = Buffer.from([0x7b, 0xff])), 'invalid-json', 'value'],
    ['value an array', (r) => (r.value = Buffer.from('[]')), 'invalid-field', 'value'],
    ['unknown op', withValue({ op: 'fifo' }), 'invalid-field', 'value.op'],
    ['unknown version', withValue({ v: 0 }), 'invalid-field', 'value.v'],
    ['version differs from header', withValue({ v: 1 }), 'mismatch', 'value.v'],
    ['negative uid', withValue({ owner: { uid: -1, gid: 0 } }), 'invalid-field', 'value.owner.uid'],
    ['ns outside the ms', withValue({ mtimeMs: 5, mtimeNs: '6000000' }), 'mismatch', 'value.mtimeNs'],
    ['ns not decimal', withValue({ mtimeNs: '1e9' }), 'invalid-field', 'value.mtimeNs'],
    ['owner without gid', withValue({ owner: { uid: 1 } }), 'invalid-field', 'value.owner.gid'],
    [
      'xattr outside the carried namespaces',
      withValue({ xattrs: { 'system.nfs4_acl': 'AA==' } }),
      'invalid-field',
      'value.xattrs.system.nfs4_acl',
    ],
    ['xattr value not base64', withValue({ xattrs: { 'user.a': '*' } }), 'invalid-field', 'value.xattrs.user.a'],
    ['xattrs beyond the bound', withValue({ xattrs: bigXattrs }), 'invalid-field', 'value.xattrs'],
    ['acl with an unknown part', withValue({ acl: { mask: 'AA==' } }), 'invalid-field', 'value.acl'],
    [
      'user name with colon',
      withValue({ owner: { uid: 1, gid: 1, user: 'a:b' } }),
      'invalid-field',
      'value.owner.user',
    ],
    ['hash not hex', withValue({ hash: 'xyz' }), 'invalid-field', 'value.hash'],
    ['hash upper case', withValue({ hash: HASH.toUpperCase() }), 'invalid-field', 'value.hash'],
    ['negative size', withValue({ size: -1 }), 'invalid-field', 'value.size'],
    ['fractional size', withValue({ size: 1.5 }), 'invalid-field', 'value.size'],
    ['mode with type bits', withValue({ mode: 0o100644 }), 'invalid-field', 'value.mode'],
    ['missing mtime', withValue({ mtimeMs: undefined }), 'invalid-field', 'value.mtimeMs'],
    ['unexpected field', withValue({ extra: 1 }), 'invalid-field', 'value'],
    ['seq not decimal', withValue({ seq: '0x10' }), 'invalid-field', 'value.seq'],
    ['seq beyond 2^53', withValue({ seq: '9007199254740993' }), 'invalid-field', 'value.seq'],
    ['bad source', withValue({ source: 'a b' }), 'invalid-field', 'value.source'],
    ['path differs from key', withValue({ path: 'other' }), 'mismatch', 'value.path'],
    ['unsafe path in value', withValue({ path: '../x' }), 'invalid-field', 'value.path'],
    ['seq differs from header', withValue({ seq: '5' }), 'mismatch', 'value.seq'],
    ['source differs from header', withValue({ source: 'other' }), 'mismatch', 'value.source'],
    ['inline data not base64', withValue({ data: '%%%' }), 'invalid-field', 'value.data'],
    ['inline data with a stray character', withValue({ size: 6, data: 'aGVs*GxvIQ==' }), 'invalid-field', 'value.data'],
    ['inline data unpadded', withValue({ size: 1, data: 'aA' }), 'invalid-field', 'value.data'],
    ['inline data in base64url', withValue({ size: 3, data: '-_-_' }), 'invalid-field', 'value.data'],
    ['inline data with a line break', withValue({ size: 6, data: 'aGVs\nbG8h' }), 'invalid-field', 'value.data'],
    [
      'inline data of another size',
      withValue({ size: 3, data: Buffer.from('hello').toString('base64') }),
      'mismatch',
      'value.data',
    ],
    [
      'inline data too large',
      withValue({ size: 70_000, data: Buffer.alloc(70_000).toString('base64') }),
      'invalid-field',
      'value.data',
    ],
    ['missing seq header', (r) => delete r.headers!.seq, 'invalid-header', 'headers.seq'],
    ['bad version header', (r) => (r.headers!.v = Buffer.from('two')), 'invalid-header', 'headers.v'],
    ['newer version header', (r) => (r.headers!.v = Buffer.from(newer)), 'newer-version', 'headers.v'],
    ['value and header versions differ', withValue({ v: 3 }), 'mismatch', 'value.v'],
    ['attributes in a format before 3', withValue({ xattrs: {} }), 'mismatch', 'value.xattrs'],
    ['an ACL in a format before 3', withValue({ acl: {} }), 'mismatch', 'value.acl'],
    ['bad ts header', (r) => (r.headers!.ts = Buffer.from('soon')), 'invalid-header', 'headers.ts'],
    ['header not UTF-8', (r) => (r.headers!.source = Buffer.from([0xff])), 'invalid-header', 'headers.source'],
  ];
  for (const [name, change, code, field] of cases) {
    const error = decodeWith(change);
    assert.ok(error instanceof RecordError, name);
    assert.equal(error.code, code, name);
    assert.equal(error.field, field, name);
  }
});

test('symlink targets and dir modes are validated', () => {
  assert.equal(decodeWith(withValue({ target: '' }), EVENTS[3]).field, 'value.target');
  assert.equal(decodeWith(withValue({ target: 'a\0b' }), EVENTS[3]).field, 'value.target');
  assert.equal(decodeWith(withValue({ mode: -1 }), EVENTS[2]).field, 'value.mode');
});

test('a tombstone needs valid headers too', () => {
  const error = decodeWith((r) => (r.headers!.seq = Buffer.from('-1')), EVENTS[4]);
  assert.equal(error.field, 'headers.seq');
});

test('the checked-in JSON Schema is up to date (npm run schema:export)', () => {
  const checkedIn = readFileSync(new URL('../../schemas/event.schema.json', import.meta.url), 'utf8');
  assert.equal(checkedIn, eventJsonSchemaText());
});

test('a format 1 record, written before owners were carried, still decodes (without an owner)', () => {
  const headers = { v: '1', source: 'web-1', seq: '7', ts: '9' };
  const value = { v: 1, source: 'web-1', seq: '7', ts: 9, path: 'a.html', op: 'file', size: 0 };
  const record: RawRecord = {
    key: Buffer.from('a.html'),
    value: Buffer.from(JSON.stringify({ ...value, mode: 0o644, mtimeMs: 5, hash: HASH })),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
  };
  const decoded = decodeRecord(record);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.event, {
    source: 'web-1',
    seq: 7,
    ts: 9,
    path: 'a.html',
    op: 'file',
    size: 0,
    mode: 0o644,
    mtimeMs: 5,
    hash: HASH,
  });
});

test('keys with escaped bytes travel as they are; a key not in canonical form is refused', () => {
  const gbk = { ...base, path: relPath('\uEFD6\uEFD0\uEFCE\uEFC4/caf\uEFE9.html') };
  const event: MirrorEvent = { ...gbk, op: 'symlink', target: '../\uEFFF' };
  assert.deepEqual(decodeRecord(asKafka(encodeRecord(event))), { ok: true, event });
  const spelledOut = asKafka(encodeRecord({ ...base, path: relPath('x'), op: 'delete' }));
  spelledOut.key = Buffer.from('\uEFC3\uEFA9');
  const decoded = decodeRecord(spelledOut);
  assert.equal(decoded.ok, false);
  assert.equal((decoded as { error: RecordError }).error.code, 'invalid-key');
});

test('a record of a newer format is refused by name, with what to do', () => {
  const record = asKafka(encodeRecord(EVENTS[0]!));
  record.headers!.v = Buffer.from(newer);
  const decoded = decodeRecord(record);
  assert.equal(decoded.ok, false);
  const { error } = decoded as { error: RecordError };
  assert.match(error.message, /record format 4 is newer than this mirrorlog reads \(1, 2, 3\): upgrade the applier/);
});

test('isBase64Of: every standard base64 text of some bytes, and nothing with a character outside its alphabet', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(),
      fc.constantFrom('*', '-', '_', ' ', '\n', '.', 'é'),
      (bytes, at, bad) => {
        const text = Buffer.from(bytes).toString('base64');
        assert.equal(isBase64Of(text, Buffer.from(text, 'base64')), true);
        if (text.length === 0) return;
        const i = at % text.length;
        const corrupt = text.slice(0, i) + bad + text.slice(i + 1);
        assert.equal(isBase64Of(corrupt, Buffer.from(corrupt, 'base64')), false, JSON.stringify(corrupt));
      },
    ),
  );
});

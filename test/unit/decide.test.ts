// decide(event, view) as given / when / then: given what the applier recorded, when an
// event arrives, then these steps (or this skip).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MirrorEvent, Owner } from '../../schemas/event.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import { decide } from '../../services/applier/domain/decide.ts';
import type { AppliedEntry, Decision } from '../../services/applier/domain/plan.ts';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
const ev = { source: 's', ts: 0 };
const fileEvent = (path: string, seq: number, hash = H1, mode = 0o644, mtimeMs = 1000): MirrorEvent => ({
  ...ev,
  op: 'file',
  path: relPath(path),
  seq,
  hash,
  size: 3,
  mode,
  mtimeMs,
});
const dirEvent = (path: string, seq: number, mode = 0o755): MirrorEvent => ({
  ...ev,
  op: 'dir',
  path: relPath(path),
  seq,
  mode,
});
const linkEvent = (path: string, seq: number, target = 't'): MirrorEvent => ({
  ...ev,
  op: 'symlink',
  path: relPath(path),
  seq,
  target,
});
const deleteEvent = (path: string, seq: number): MirrorEvent => ({ ...ev, op: 'delete', path: relPath(path), seq });

const file = (seq: number, hash = H1): AppliedEntry => ({
  kind: 'file',
  seq,
  hash,
  size: 3,
  mode: 0o644,
  mtimeMs: 1000,
});
const dir = (seq: number, explicit = true): AppliedEntry => ({
  kind: 'dir',
  seq,
  mode: explicit ? 0o755 : null,
  explicit,
});
const absent = (seq: number): AppliedEntry => ({ kind: 'absent', seq });

function given(entries: Record<string, AppliedEntry>) {
  const index = new MemoryAppliedIndex();
  for (const [path, entry] of Object.entries(entries)) index.record(relPath(path), entry);
  return { when: (event: MirrorEvent): Decision => decide(event, index) };
}

function ops(decision: Decision): string[] {
  return decision.steps.map((step) =>
    step.op === 'record'
      ? `record ${step.path} ${step.entry.kind}` +
        (step.entry.kind === 'dir' && !step.entry.explicit ? ' (implicit)' : '') +
        ` ${step.entry.seq}`
      : `${step.op} ${step.path}`,
  );
}

test('a new file under existing directories is written and recorded', () => {
  const decision = given({ a: dir(1) }).when(fileEvent('a/f', 2));
  assert.equal(decision.kind, 'apply');
  assert.deepEqual(ops(decision), ['write a/f', 'record a/f file 2']);
});

test('rule 1: a redelivered or older event is skipped', () => {
  assert.deepEqual(given({ f: file(5) }).when(fileEvent('f', 5)), {
    kind: 'skip',
    reason: 'already-applied',
    steps: [],
  });
  assert.deepEqual(given({ f: absent(7) }).when(fileEvent('f', 6)), {
    kind: 'skip',
    reason: 'already-applied',
    steps: [],
  });
});

test('same bytes, new mode or mtime: only the metadata changes', () => {
  assert.deepEqual(ops(given({ f: file(1) }).when(fileEvent('f', 2, H1, 0o600))), ['set-meta f', 'record f file 2']);
  assert.deepEqual(ops(given({ f: file(1) }).when(fileEvent('f', 2, H2))), ['write f', 'record f file 2']);
});

test('missing parents are created as directories that only hold entries', () => {
  assert.deepEqual(ops(given({}).when(fileEvent('a/b/f', 3))), [
    'mkdir a',
    'record a dir (implicit) 0',
    'mkdir a/b',
    'record a/b dir (implicit) 0',
    'write a/b/f',
    'record a/b/f file 3',
  ]);
});

test('a dir event makes an implicit directory explicit, with its mode', () => {
  const decision = given({ a: dir(0, false), 'a/f': file(3) }).when(dirEvent('a', 1, 0o700));
  assert.deepEqual(ops(decision), ['dir-meta a', 'record a dir 1']);
});

test('rule 2: a file replaces a directory whose entries are all older', () => {
  assert.deepEqual(ops(given({ d: dir(1), 'd/x': file(2) }).when(fileEvent('d', 5))), [
    'remove-tree d',
    'forget-below d',
    'write d',
    'record d file 5',
  ]);
  assert.deepEqual(ops(given({ d: dir(1), 'd/x': file(2) }).when(linkEvent('d', 5))), [
    'remove-tree d',
    'forget-below d',
    'symlink d',
    'record d symlink 5',
  ]);
});

test('rule 2: a file is superseded by a newer entry below the directory it would replace', () => {
  assert.deepEqual(given({ d: dir(1), 'd/x': file(8) }).when(fileEvent('d', 5)), {
    kind: 'skip',
    reason: 'newer-entries-below',
    steps: [],
  });
});

test('rule 3: an entry under an older file replaces that file', () => {
  assert.deepEqual(ops(given({ a: file(2) }).when(fileEvent('a/f', 4))), [
    'unlink a',
    'mkdir a',
    'record a dir (implicit) 2',
    'write a/f',
    'record a/f file 4',
  ]);
});

test('rule 3: an entry under a newer file, or under a later delete, is skipped', () => {
  assert.deepEqual(given({ a: file(9) }).when(fileEvent('a/f', 4)), {
    kind: 'skip',
    reason: 'newer-ancestor',
    steps: [],
  });
  assert.deepEqual(given({ a: absent(9) }).when(fileEvent('a/f', 4)), {
    kind: 'skip',
    reason: 'ancestor-deleted-later',
    steps: [],
  });
  assert.equal(given({ a: absent(3) }).when(fileEvent('a/f', 4)).kind, 'apply');
});

test('rule 4: a directory delete removes it when nothing below is newer', () => {
  assert.deepEqual(ops(given({ d: dir(1), 'd/x': file(2) }).when(deleteEvent('d', 5))), [
    'remove-tree d',
    'forget-below d',
    'record d absent 5',
  ]);
});

test('rule 4: a directory with newer entries stays, demoted to holding them', () => {
  assert.deepEqual(ops(given({ d: dir(1), 'd/x': file(8) }).when(deleteEvent('d', 5))), ['record d dir (implicit) 5']);
});

test('rule 4: implicit directories only count through their explicit content', () => {
  // d/e exists only to hold d/e/f, which is older than the delete of d.
  assert.deepEqual(ops(given({ d: dir(1), 'd/e': dir(7, false), 'd/e/f': file(2) }).when(deleteEvent('d', 5))), [
    'remove-tree d',
    'forget-below d',
    'record d absent 5',
  ]);
});

test('emptied implicit directories go too, innermost first, stopping at an explicit one', () => {
  const decision = given({ a: dir(1), 'a/b': dir(0, false), 'a/b/c': dir(4, false), 'a/b/c/f': file(5) }).when(
    deleteEvent('a/b/c/f', 6),
  );
  assert.deepEqual(ops(decision), [
    'unlink a/b/c/f',
    'record a/b/c/f absent 6',
    'rmdir a/b/c',
    'record a/b/c absent 4',
    'rmdir a/b',
    'record a/b absent 0',
  ]);
  const kept = given({ b: dir(0, false), 'b/f': file(5), 'b/g': file(5) }).when(deleteEvent('b/f', 6));
  assert.deepEqual(ops(kept), ['unlink b/f', 'record b/f absent 6']);
});

test('deleting what is not there records the delete', () => {
  assert.deepEqual(ops(given({}).when(deleteEvent('x', 3))), ['record x absent 3']);
});

test('a directory event replaces a file or symlink', () => {
  assert.deepEqual(ops(given({ p: file(1) }).when(dirEvent('p', 2))), ['unlink p', 'mkdir p', 'record p dir 2']);
});

const owned = (event: MirrorEvent, owner: Owner): MirrorEvent => ({ ...event, owner }) as MirrorEvent;

test('a new owner alone changes a file in place and a directory by its metadata; the index records it', () => {
  const www = { uid: 33, gid: 33, user: 'www-data' };
  const chowned = given({ f: file(1), d: dir(1) });
  const onFile = chowned.when(owned(fileEvent('f', 2), www));
  assert.deepEqual(onFile.steps[0], { op: 'set-meta', path: 'f', mode: 0o644, mtimeMs: 1000, owner: www });
  assert.deepEqual(onFile.steps[1], {
    op: 'record',
    path: 'f',
    entry: { kind: 'file', seq: 2, hash: H1, size: 3, mode: 0o644, mtimeMs: 1000, owner: www },
  });
  const onDir = chowned.when(owned(dirEvent('d', 2), www));
  assert.deepEqual(onDir.steps[0], { op: 'dir-meta', path: 'd', mode: 0o755, owner: www });
});

test('the same owner again (names aside) asks for nothing on the filesystem', () => {
  const www = { uid: 33, gid: 33 };
  const decision = given({ f: { ...(file(1) as Extract<AppliedEntry, { kind: 'file' }>), owner: www } }).when(
    owned(fileEvent('f', 2), { ...www, user: 'www-data' }),
  );
  assert.deepEqual(ops(decision), ['record f file 2']);
});

test('new directories, files and symlinks are made with the owner their event carries', () => {
  const owner = { uid: 1001, gid: 2000 };
  const d = given({}).when(owned(dirEvent('d', 1), owner));
  assert.deepEqual(d.steps[0], { op: 'mkdir', path: 'd', mode: 0o755, owner });
  const f = given({}).when(owned(fileEvent('f', 1), owner));
  assert.equal((f.steps[0] as { owner?: unknown }).owner, owner);
  const l = given({}).when(owned(linkEvent('l', 1), owner));
  assert.deepEqual(l.steps[0], { op: 'symlink', path: 'l', target: 't', owner });
});

test('an exact mtime that differs within the same millisecond changes the file in place', () => {
  const exact = { ...fileEvent('f', 2), mtimeNs: '1000000001' } as MirrorEvent;
  const decision = given({
    f: { ...(file(1) as Extract<AppliedEntry, { kind: 'file' }>), mtimeNs: '1000000000' },
  }).when(exact);
  assert.deepEqual(decision.steps[0], { op: 'set-meta', path: 'f', mode: 0o644, mtimeMs: 1000, mtimeNs: '1000000001' });
});

test("a directory's or symlink's own mtime is applied and recorded; the same one again asks for nothing", () => {
  const timedDir = { ...dirEvent('d', 2), mtimeMs: 5 } as MirrorEvent;
  const onDir = given({ d: dir(1) }).when(timedDir);
  assert.deepEqual(onDir.steps[0], { op: 'dir-meta', path: 'd', mode: 0o755, mtimeMs: 5 });
  const again = given({ d: { ...(dir(1) as Extract<AppliedEntry, { kind: 'dir' }>), mtimeMs: 5 } }).when(timedDir);
  assert.deepEqual(ops(again), ['record d dir 2']);
  const link = given({}).when({ ...linkEvent('l', 1), mtimeMs: 7 } as MirrorEvent);
  assert.deepEqual(link.steps[0], { op: 'symlink', path: 'l', target: 't', mtimeMs: 7 });
});

test('attributes alone change a file in place and a directory by its metadata; the same ones ask for nothing', () => {
  const xattrs = { 'user.a': 'eA==' };
  const withAttrs = (event: MirrorEvent, attributes: object) => ({ ...event, ...attributes });
  const recorded = given({
    f: file(1),
    d: dir(1),
    same: { ...(file(1) as Extract<AppliedEntry, { kind: 'file' }>), xattrs: { ...xattrs }, acl: {} },
  });
  const onFile = recorded.when(withAttrs(fileEvent('f', 2), { xattrs }));
  assert.deepEqual(onFile.steps[0], { op: 'set-meta', path: 'f', mode: 0o644, mtimeMs: 1000, xattrs });
  assert.deepEqual((onFile.steps[1] as { entry: { xattrs?: object } }).entry.xattrs, xattrs, 'the index records them');
  const onDir = recorded.when(withAttrs(dirEvent('d', 2), { acl: { default: 'AgAAAA==' } }));
  assert.deepEqual(onDir.steps[0], { op: 'dir-meta', path: 'd', mode: 0o755, acl: { default: 'AgAAAA==' } });
  assert.deepEqual(ops(recorded.when(withAttrs(fileEvent('same', 2), { xattrs, acl: {} }))), ['record same file 2']);
  assert.deepEqual(ops(recorded.when(fileEvent('same', 3))), ['set-meta same', 'record same file 3']);
});

test('a name of a hard-linked inode is linked to another name recorded in the same state, else written', () => {
  const G = '2049:1234:1700000000000000000';
  const linkedFile = (seq: number, hash = H1): AppliedEntry =>
    ({ ...(file(seq, hash) as object), link: G }) as AppliedEntry;
  const linkedEvent = (path: string, seq: number, hash = H1, mode = 0o644) =>
    ({ ...fileEvent(path, seq, hash, mode), link: G }) as MirrorEvent;
  const second = given({ a: linkedFile(1) }).when(linkedEvent('b', 2));
  assert.deepEqual(second.steps[0], { op: 'link', path: 'b', from: 'a', size: 3, names: 1 });
  assert.equal((second.steps[1] as { entry: { link?: string } }).entry.link, G, 'the index records the identity');
  // The other name holds other bytes (rewritten through it, its event not here yet): written.
  assert.deepEqual(ops(given({ a: linkedFile(1, H2) }).when(linkedEvent('b', 2))), ['write b', 'record b file 2']);
  // A chmod through one name: never set in place on a shared inode; linked once the other name has it.
  assert.deepEqual(ops(given({ a: linkedFile(1), b: linkedFile(1) }).when(linkedEvent('a', 2, H1, 0o600))), [
    'write a',
    'record a file 2',
  ]);
  const relinked = given({ a: linkedFile(2), b: linkedFile(1) }).when(linkedEvent('b', 3));
  assert.deepEqual(ops(relinked), ['record b file 3'], 'already in that state: nothing to do');
  const afterChmod = { a: { ...(linkedFile(2) as object), mode: 0o600 } as AppliedEntry, b: linkedFile(1) };
  assert.deepEqual(given(afterChmod).when(linkedEvent('b', 3, H1, 0o600)).steps[0], {
    op: 'link',
    path: 'b',
    from: 'a',
    size: 3,
    names: 2,
  });
  // Without an identity, nothing is linked, whatever holds the same bytes.
  assert.deepEqual(ops(given({ a: linkedFile(1) }).when(fileEvent('b', 2))), ['write b', 'record b file 2']);
});

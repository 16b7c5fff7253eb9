// The real producer core on the in-memory tree and virtual time, one behaviour at a time:
// what it publishes when hints overflow, when an entry cannot be read or mirrored, and
// when a file never comes to rest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { MirrorEvent } from '../../schemas/event.ts';
import { bytesOfName, nameFromBytes } from '../../schemas/name-bytes.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { MemorySourceTree } from '../../services/producer/adapters/memory-source-tree.ts';
import { ManualClock } from '../../services/shared/clock.ts';
import { LossyWatcher } from '../model/lossy-watcher.ts';
import { ProducerHarness } from '../model/producer-harness.ts';

function setup(tuning: ConstructorParameters<typeof ProducerHarness>[2]['tuning'] = {}) {
  const clock = new ManualClock();
  const tree = new MemorySourceTree(() => clock.now());
  const harness = new ProducerHarness(tree, clock, { partitions: 1, tuning });
  return { clock, tree, harness, events: (): MirrorEvent[] => harness.partitions.flat() };
}

async function metric(harness: ProducerHarness, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await harness.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

test('every overflow of the hint queue asks for a reconcile, not only the first (defect 1)', async (t) => {
  const { tree, harness } = setup({ maxHints: 3 });
  t.after(() => harness.core.stop());
  await harness.start();
  const walks = () => metric(harness, 'mirrorlog_producer_reconciles_total', { trigger: 'dropped-hints' });
  for (let i = 0; i < 10; i++) tree.writeFile(`first-${i}`, `${i}`);
  await harness.settle();
  const afterFirst = await walks();
  assert.ok(afterFirst >= 1);
  for (let i = 0; i < 10; i++) assert.ok(harness.index.get(relPath(`first-${i}`)), `first-${i} is published`);
  for (let i = 0; i < 10; i++) tree.writeFile(`second-${i}`, `${i}`);
  await harness.settle();
  assert.ok((await walks()) > afterFirst, 'the second overflow asked for a walk too');
  for (let i = 0; i < 10; i++) assert.ok(harness.index.get(relPath(`second-${i}`)), `second-${i} is published`);
  assert.ok((await metric(harness, 'mirrorlog_producer_hints_dropped_total')) >= 14);
});

test('names and link targets that are not UTF-8 (GBK, Latin-1) are published byte-exact, escaped', async (t) => {
  const { tree, harness, events } = setup();
  t.after(() => harness.core.stop());
  const gbk = nameFromBytes(Buffer.from([0xd6, 0xd0, 0xce, 0xc4])); // "中文" in GBK
  const latin1 = nameFromBytes(Buffer.from('caf\xe9', 'latin1'));
  tree.mkdir(gbk);
  tree.writeFile(`${gbk}/${latin1}.html`, 'x');
  tree.symlink('link', Buffer.from([0x61, 0xff]));
  await harness.start();
  const published = new Map(events().map((e) => [e.path, e]));
  assert.deepEqual([...published.keys()].sort(), [gbk, `${gbk}/${latin1}.html`, 'link'].sort());
  assert.deepEqual(
    bytesOfName(`${gbk}/${latin1}.html`),
    Buffer.from([0xd6, 0xd0, 0xce, 0xc4, 0x2f, 0x63, 0x61, 0x66, 0xe9, 0x2e, 0x68, 0x74, 0x6d, 0x6c]),
  );
  const link = published.get(relPath('link'));
  assert.ok(link?.op === 'symlink');
  assert.deepEqual(bytesOfName(link.target), Buffer.from([0x61, 0xff]));
  assert.ok(harness.core.isIdle());
});

test('an unreadable file or directory is counted, skipped and never blocks readiness (M4)', async (t) => {
  const { tree, harness } = setup();
  t.after(() => harness.core.stop());
  tree.writeFile('kept', 'old');
  tree.mkdir('locked');
  tree.writeFile('locked/inside', 'x');
  await harness.start();
  tree.setUnreadable('kept', true);
  tree.writeFile('secret', 'y');
  tree.setUnreadable('secret', true);
  tree.setUnreadable('locked', true);
  tree.writeFile('other', 'z');
  await harness.settle();
  assert.ok(harness.core.isIdle());
  assert.ok(harness.index.get(relPath('other')), 'everything else goes on');
  assert.equal(harness.index.get(relPath('secret')), undefined);
  assert.equal(harness.index.get(relPath('kept'))?.state.kind, 'file', 'what was published of it stays');
  assert.ok(harness.index.get(relPath('locked/inside')), 'nor is a directory that cannot be listed emptied');
  assert.equal(await metric(harness, 'mirrorlog_producer_unreadable_entries'), 3);
  tree.setUnreadable('secret', false);
  await harness.settle();
  assert.ok(harness.index.get(relPath('secret')), 'readable again: published');
  assert.equal(await metric(harness, 'mirrorlog_producer_unreadable_entries'), 2);
});

test(
  'a file appended to without pause is published from a snapshot ' + 'once unstable for the bound, never torn (M10)',
  async (t) => {
    const { tree, clock, harness, events } = setup({ maxUnstableMs: 30_000 });
    t.after(() => harness.core.stop());
    await harness.start();
    tree.writeFile('log', 'line\n');
    let appends = 0;
    tree.duringRead = (path) => {
      if (path === 'log' && appends++ < 1000) tree.append('log', 'more\n');
    };
    const started = clock.now();
    await harness.settle(() => events().some((e) => e.path === 'log'));
    const published = events().find((e) => e.path === 'log');
    assert.ok(published?.op === 'file' && published.data !== undefined);
    assert.equal(
      createHash('sha256').update(published.data).digest('hex'),
      published.hash,
      'the bytes are the ones hashed',
    );
    assert.equal(published.size, published.data.length);
    const waited = clock.now() - started;
    assert.ok(waited >= 30_000 && waited < 60_000, `published after ${waited} ms of virtual time`);
    assert.ok((await metric(harness, 'mirrorlog_producer_snapshot_reads_total')) >= 1);
    tree.duringRead = undefined;
  },
);

test('a chown alone publishes the entry again with its new owner, named where the names are known', async (t) => {
  const clock = new ManualClock();
  const tree = new MemorySourceTree(() => clock.now(), { owners: true });
  const names = new Map([[33, 'www-data']]);
  const accounts = { userName: (id: number) => names.get(id), groupName: (id: number) => names.get(id) };
  const harness = new ProducerHarness(tree, clock, { partitions: 1, accounts });
  t.after(() => harness.core.stop());
  tree.mkdir('d');
  tree.writeFile('d/page.html', 'x', 0o640);
  tree.symlink('d/link', 'page.html');
  await harness.start();
  const before = harness.partitions.flat().length;
  tree.chown('d/page.html', 33, 33);
  tree.chown('d', 33, 1234);
  tree.chown('d/link', 7, 33);
  await harness.settle();
  const after = harness.partitions.flat().slice(before);
  const owners = new Map(after.map((e) => [e.path, e.op === 'delete' ? undefined : e.owner]));
  assert.deepEqual(owners.get(relPath('d/page.html')), { uid: 33, gid: 33, user: 'www-data', group: 'www-data' });
  assert.deepEqual(owners.get(relPath('d')), { uid: 33, gid: 1234, user: 'www-data' });
  assert.deepEqual(owners.get(relPath('d/link')), { uid: 7, gid: 33, group: 'www-data' });
  assert.equal(after.length, 3, 'one event per chown, nothing else');
});

test('attributes and ACLs travel with --xattrs and --acls, and a setxattr alone publishes again', async (t) => {
  const clock = new ManualClock();
  const tree = new MemorySourceTree(() => clock.now());
  const attributes = { xattrs: true, acl: true };
  const harness = new ProducerHarness(tree, clock, { partitions: 1, attributes });
  t.after(() => harness.core.stop());
  tree.mkdir('d');
  tree.writeFile('d/page.html', 'x');
  tree.setXattr('d/page.html', 'user.mime_type', Buffer.from('text/html'));
  tree.setXattr('d/page.html', 'system.posix_acl_access', Buffer.from([2, 0, 0, 0]));
  tree.setXattr('d/page.html', 'system.other', Buffer.from('never travels'));
  tree.setXattr('d', 'system.posix_acl_default', Buffer.from([2, 0, 0, 0]));
  tree.setXattr('d', 'trusted.origin', Buffer.from('x'));
  await harness.start();
  const first = new Map(harness.partitions.flat().map((e) => [e.path, e]));
  const page = first.get(relPath('d/page.html'));
  assert.ok(page?.op === 'file');
  assert.deepEqual(page.xattrs, { 'user.mime_type': Buffer.from('text/html').toString('base64') });
  assert.deepEqual(page.acl, { access: 'AgAAAA==' });
  const dir = first.get(relPath('d'));
  assert.ok(dir?.op === 'dir');
  assert.deepEqual([dir.xattrs, dir.acl], [{ 'trusted.origin': 'eA==' }, { default: 'AgAAAA==' }]);
  const before = harness.partitions.flat().length;
  tree.setXattr('d/page.html', 'user.mime_type', null);
  await harness.settle();
  const after = harness.partitions.flat().slice(before);
  assert.deepEqual(
    after.map((e) => [e.path, e.op === 'delete' ? undefined : e.xattrs]),
    [['d/page.html', {}]],
    'one event, with no attribute left',
  );
});

test('after an overflow the walk compares the busy directories first, then the whole tree', async (t) => {
  const clock = new ManualClock();
  const tree = new MemorySourceTree(() => clock.now());
  for (const dir of ['a', 'busy', 'z']) tree.mkdir(dir);
  const lossy = new LossyWatcher();
  const scanned: string[] = [];
  const recording = new Proxy(lossy.wrap(tree), {
    get: (target, property, receiver) => {
      if (property === 'scan') return (dir: string) => (scanned.push(dir), target.scan(dir));
      if (property === 'scanAsync') return (dir: string) => (scanned.push(dir), target.scanAsync(dir));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  const harness = new ProducerHarness(recording, clock, { partitions: 1 });
  t.after(() => harness.core.stop());
  await harness.start();
  tree.writeFile('busy/before', 'x');
  lossy.pass('deliver');
  await harness.settle();
  scanned.length = 0;
  tree.writeFile('busy/lost', 'y');
  tree.writeFile('z/lost', 'z');
  lossy.pass('overflow');
  await harness.settle();
  assert.deepEqual(scanned.slice(0, 2), ['busy', ''], `scanned: ${scanned.join(', ')}`);
  assert.ok(harness.index.get(relPath('busy/lost')) && harness.index.get(relPath('z/lost')), 'both are published');
});

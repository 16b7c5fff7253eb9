import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { scannedNames, scannedProbe } from '../../services/producer/adapters/native-scan.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { scanByLstat } from '../../services/producer/adapters/scan-by-lstat.ts';
import { loadWatchNative, SCAN_FIELDS } from '../../services/shared/native/watch.ts';
import { nameFromBytes } from '../../schemas/name-bytes.ts';

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-native-scan-')));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

test('the addon scans directories (the walk would silently fall back to lstat without it)', () => {
  assert.equal(typeof loadWatchNative().scanDirectory, 'function');
});

test('what the scan cannot tell exactly (hard links, times before 1970) is lstat-ed, as lstat says', (t) => {
  const root = tempRoot(t);
  fs.writeFileSync(path.join(root, 'a'), 'shared');
  fs.linkSync(path.join(root, 'a'), path.join(root, 'b'));
  fs.writeFileSync(path.join(root, 'old'), 'x');
  execFileSync('touch', ['-m', '-d', '@-86399.5', path.join(root, 'old')]);
  fs.mkdirSync(path.join(root, 'dir'));
  fs.writeFileSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 'latin-1 name');
  const tree = new NodeSourceTree(root);
  const scan = tree.scan('');
  assert.ok(scan.status === 'ok');
  const expected = scanByLstat(tree, '');
  assert.ok(expected.status === 'ok');
  assert.deepEqual([...scan.entries].sort(byName), [...expected.entries].sort(byName));
  const a = scan.entries.find(({ name }) => name === 'a')!.probe;
  assert.ok(a.kind === 'file' && a.link !== undefined, 'a linked file carries its inode identity');
  const old = scan.entries.find(({ name }) => name === 'old')!.probe;
  assert.ok(old.kind === 'file');
  assert.equal(old.mtimeNs, '-86399500000000');
  assert.ok(scan.entries.some(({ name }) => name === nameFromBytes(Buffer.from('caf\xe9', 'latin1'))));
});

test('a root reached through a symlink is scanned; a symlink to a directory below it is missing', (t) => {
  const base = tempRoot(t);
  fs.mkdirSync(path.join(base, 'real/sub'), { recursive: true });
  fs.symlinkSync(path.join(base, 'real'), path.join(base, 'link'));
  fs.symlinkSync('sub', path.join(base, 'real/to-sub'));
  const tree = new NodeSourceTree(path.join(base, 'link'));
  const top = tree.scan('');
  assert.ok(top.status === 'ok', 'the root through its symlink is a directory');
  assert.deepEqual(top.entries.map(({ name }) => name).sort(), ['sub', 'to-sub']);
  assert.equal(tree.scan('to-sub').status, 'missing');
  assert.equal(tree.scan('sub').status, 'ok');
});

test('a refused lstat is unreadable with its errno name; a name gone since the listing is missing', () => {
  const stats = new Float64Array(3 * SCAN_FIELDS);
  stats[0] = 5;
  stats[1] = os.constants.errno.EACCES;
  stats[SCAN_FIELDS] = 0;
  stats[2 * SCAN_FIELDS] = 4;
  assert.deepEqual(scannedProbe(stats, 0), { kind: 'unreadable', code: 'EACCES' });
  assert.deepEqual(scannedProbe(stats, 1), { kind: 'missing' });
  assert.deepEqual(scannedProbe(stats, 2), { kind: 'special' });
});

test('scanned names: NUL-separated bytes, each in canonical text', () => {
  const latin1 = Buffer.from('caf\xe9', 'latin1');
  const names = Buffer.concat([Buffer.from('plain\0'), latin1, Buffer.from('\0\uEF85\0')]);
  assert.deepEqual(scannedNames(names), ['plain', nameFromBytes(latin1), nameFromBytes(Buffer.from('\uEF85'))]);
  assert.deepEqual(scannedNames(Buffer.from('a\0b\0')), ['a', 'b']);
  assert.deepEqual(scannedNames(Buffer.alloc(0)), []);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MemorySourceTree } from '../../services/producer/adapters/memory-source-tree.ts';
import { SMALL_FILE_BYTES } from '../../services/producer/adapters/file-reads.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { fsPath } from '../../schemas/name-bytes.ts';
import { fsat } from '../../services/shared/native/fsat.ts';
import { testSourceTree } from '../helpers/source-tree-contract.ts';

testSourceTree('memory', () => {
  const tree = new MemorySourceTree(() => Date.now());
  const ok = (done: boolean, what: string) => {
    if (!done) throw new Error(`memory tree refused ${what}`);
  };
  return {
    tree,
    writer: {
      mkdir: (p) => ok(tree.mkdir(p), `mkdir ${p}`),
      writeFile: (p, content, mode) => ok(tree.writeFile(p, content, mode), `write ${p}`),
      symlink: (p, target) => ok(tree.symlink(p, target), `symlink ${p}`),
      mkfifo: (p) => ok(tree.mkfifo(p), `mkfifo ${p}`),
      remove: (p) => ok(tree.remove(p), `remove ${p}`),
      rename: (from, to) => ok(tree.rename(from, to), `rename ${from}`),
      setMtimeNs: (p, ns) => ok(tree.utimes(p, Number(ns / 1_000_000n)), `utimes ${p}`),
      setXattr: (p, name, value) => ok(tree.setXattr(p, name, Buffer.from(value)), `setxattr ${p}`),
    },
    cleanup: () => undefined,
  };
});

testSourceTree('local filesystem', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-source-tree-'));
  const root = fs.realpathSync(base);
  // Names in canonical text: the bytes they stand for are what the filesystem gets.
  const abs = (p: string) => fsPath(path.join(root, p));
  return {
    tree: new NodeSourceTree(root),
    writer: {
      mkdir: (p) => fs.mkdirSync(abs(p)),
      writeFile: (p, content, mode) => {
        fs.writeFileSync(abs(p), content);
        if (mode !== undefined) fs.chmodSync(abs(p), mode);
      },
      symlink: (p, target) => fs.symlinkSync(target, Buffer.concat([Buffer.from(`${root}/`), Buffer.from(p)])),
      mkfifo: (p) => execFileSync('mkfifo', [path.join(root, p)]),
      remove: (p) => fs.rmSync(abs(p), { recursive: true }),
      rename: (from, to) => fs.renameSync(abs(from), abs(to)),
      // touch takes nanoseconds; utimes takes a double of seconds, which cannot hold them.
      setMtimeNs: (p, ns) =>
        execFileSync('touch', [
          '-m',
          '-d',
          `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`,
          path.join(root, p),
        ]),
      setXattr: (p, name, value) => fsat.setxattr(path.join(root, p), name, Buffer.from(value), 0),
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
});

test(
  'a snapshot of a large file is a copy in the staging directory, ' + 'hashed as copied, removed once released',
  async (t) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-snapshot-'));
    t.after(() => fs.rmSync(base, { recursive: true, force: true }));
    fs.mkdirSync(path.join(base, 'root'));
    fs.mkdirSync(path.join(base, 'state'));
    const data = Buffer.alloc(SMALL_FILE_BYTES + 4096, 7);
    fs.writeFileSync(path.join(base, 'root/big'), data);
    const tree = new NodeSourceTree(path.join(base, 'root'), path.join(base, 'state'));
    const found = tree.lstat('big');
    assert.ok(found.kind === 'file');
    fs.appendFileSync(path.join(base, 'root/big'), 'grown'); // not at rest any more
    assert.equal((await tree.readFile('big', found.fingerprint)).status, 'changed');
    const read = await tree.readFile('big', found.fingerprint, { snapshot: true });
    assert.ok(read.status === 'ok' && 'file' in read.content);
    const grown = Buffer.concat([data, Buffer.from('grown')]);
    assert.equal(read.hash, createHash('sha256').update(grown).digest('hex'));
    assert.equal(read.size, grown.length);
    assert.equal(path.dirname(read.content.file), path.join(base, 'state'));
    assert.deepEqual(fs.readFileSync(read.content.file), grown);
    read.content.release?.();
    assert.deepEqual(fs.readdirSync(path.join(base, 'state')), []);
  },
);

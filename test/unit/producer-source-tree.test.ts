import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemorySourceTree } from '../../services/producer/adapters/memory-source-tree.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
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
    },
    cleanup: () => undefined,
  };
});

testSourceTree('local filesystem', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-source-tree-'));
  const root = fs.realpathSync(base);
  const abs = (p: string) => path.join(root, p);
  return {
    tree: new NodeSourceTree(root),
    writer: {
      mkdir: (p) => fs.mkdirSync(abs(p)),
      writeFile: (p, content, mode) => {
        fs.writeFileSync(abs(p), content);
        if (mode !== undefined) fs.chmodSync(abs(p), mode);
      },
      symlink: (p, target) => fs.symlinkSync(target, Buffer.concat([Buffer.from(`${root}/`), Buffer.from(p)]) as unknown as string),
      mkfifo: (p) => execFileSync('mkfifo', [abs(p)]),
      remove: (p) => fs.rmSync(abs(p), { recursive: true }),
      rename: (from, to) => fs.renameSync(abs(from), abs(to)),
      // touch takes nanoseconds; utimes takes a double of seconds, which cannot hold them.
      setMtimeNs: (p, ns) => execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, abs(p)]),
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
});

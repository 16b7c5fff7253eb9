// Defect 2: a tree moved into the source whose top directory is then chmod 700 by another
// user crashed a non-root producer (unhandled rejection from the new-directory walker).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NewDirectoryWalker } from '../../services/producer/new-dir-walker.ts';
import type { SourceTree } from '../../services/producer/ports/source-tree.ts';
import { createLogger } from '../../services/shared/logger.ts';

const NOBODY = 65534;

test('the new-directory walker survives a listing that throws, and goes on with the next directory', async () => {
  const hinted: string[] = [];
  let drained = 0;
  const tree = {
    readdir: (dir: string) => {
      if (dir === 'locked') throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return { status: 'ok' as const, entries: [{ name: 'f', kind: 'file' as const }] };
    },
  } as unknown as SourceTree;
  const walker = new NewDirectoryWalker({
    tree,
    hint: (p) => hinted.push(p),
    roomForHints: async () => undefined,
    onDrained: () => drained++,
    logger: createLogger({ level: 'silent', name: 'test' }),
  });
  walker.add('locked');
  walker.add('open');
  const deadline = Date.now() + 5000;
  while (walker.busy && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(walker.busy, false);
  // The directory whose listing threw is examined again (its examination counts it unreadable).
  assert.deepEqual(hinted, ['locked', 'open/f']);
  assert.equal(drained, 1);
});

test('a non-root producer on a tree with a directory it may not list publishes the rest and counts it', (t) => {
  assert.equal(
    process.getuid?.(),
    0,
    'this test runs the producer as nobody, which needs root to arrange; run the unit tier as root',
  );
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-unreadable-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  fs.chmodSync(base, 0o755);
  const root = path.join(base, 'source');
  for (const dir of ['moved/a', 'moved/locked/deep', 'moved/b'])
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.writeFileSync(path.join(root, 'moved/a/f'), 'a');
  fs.writeFileSync(path.join(root, 'moved/locked/deep/g'), 'g');
  fs.writeFileSync(path.join(root, 'moved/b/h'), 'h');
  fs.chmodSync(path.join(root, 'moved/locked'), 0o700); // owned by root: nobody may not list it
  const child = fileURLToPath(new URL('../helpers/unreadable-tree-child.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', child, root], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, HOME: base },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `the producer died: ${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { paths: string[]; unreadable: number };
  assert.deepEqual(result.paths, ['moved', 'moved/a', 'moved/a/f', 'moved/b', 'moved/b/h', 'moved/locked']);
  assert.equal(result.unreadable, 1);
});

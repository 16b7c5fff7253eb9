// kill -9 in the middle of a stream: the applier, run as the real CLI in a child
// process, is killed while applying a few thousand records, restarted on the same state
// directory, and must converge to exactly the tree the log describes (no temp files
// left, nothing missing, nothing extra). A clean SIGTERM then exits 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { MirrorEvent } from '../../schemas/event.ts';
import {
  applierStack,
  events,
  snapshot,
  trySnapshot,
  PARTITIONS,
  type ApplierStack,
} from '../helpers/applier-harness.ts';
import { waitFor } from '../helpers/stack.ts';

const CLI = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

function startChild(
  stack: ApplierStack,
  target: string,
  stateDir: string,
): { child: ChildProcess; output: () => string } {
  const args = [
    CLI,
    'applier',
    '--target',
    target,
    '--replica',
    'crash',
    '--topic',
    stack.topic,
    '--partitions',
    String(PARTITIONS),
  ];
  args.push(
    '--s3-prefix',
    stack.prefix,
    '--state-dir',
    stateDir,
    '--metrics-port',
    '0',
    '--commit-interval',
    '300ms',
    '--log-level',
    process.env['MIRRORLOG_TEST_LOG'] ?? 'warn',
  );
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

function countFiles(dir: string): number {
  let count = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) count++;
  return count;
}

test('after kill -9 mid-stream, a restart converges to the log', { timeout: 240_000 }, async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  const stateDir = join(stack.dir, 'state');
  const contents = await Promise.all(
    Array.from({ length: 40 }, (_, i) => stack.put(`content number ${i}\n`.repeat(i + 1))),
  );

  // The source: 30 directories of 100 files, then overwrites, deletes and a directory removal.
  const expected = new Map<string, string>();
  const batchA: MirrorEvent[] = [];
  const batchB: MirrorEvent[] = [];
  const fileLine = (path: string, c: { hash: string }, mode: number, mtime: number) =>
    `${path} file ${mode.toString(8)} ${mtime} ${c.hash.slice(0, 12)}`;
  for (let d = 0; d < 30; d++) {
    batchA.push(events.dir(`dir${d}`, 0o755));
    expected.set(`dir${d}`, `dir${d} dir 755`);
    for (let f = 0; f < 100; f++) {
      const path = `dir${d}/file${f}.html`;
      const c = contents[(d * 7 + f) % contents.length]!;
      batchA.push(events.file(path, c, 0o644, 1_600_000_000_000 + f));
      expected.set(path, fileLine(path, c, 0o644, 1_600_000_000_000 + f));
    }
  }
  for (let d = 0; d < 30; d++) {
    for (let f = 0; f < 100; f += 7) {
      const path = `dir${d}/file${f}.html`;
      const c = contents[(d + f + 3) % contents.length]!;
      batchB.push(events.file(path, c, 0o600, 1_700_000_000_000 + d));
      expected.set(path, fileLine(path, c, 0o600, 1_700_000_000_000 + d));
    }
    for (let f = 3; f < 100; f += 11) {
      batchB.push(events.delete(`dir${d}/file${f}.html`));
      expected.delete(`dir${d}/file${f}.html`);
    }
  }
  for (let f = 0; f < 100; f++) batchB.push(events.delete(`dir29/file${f}.html`));
  batchB.push(events.delete('dir29'));
  for (const path of [...expected.keys()]) if (path === 'dir29' || path.startsWith('dir29/')) expected.delete(path);
  const want = [...expected.values()].sort((a, b) => (a.split(' ')[0]! < b.split(' ')[0]! ? -1 : 1));

  await stack.publish(batchA);
  const first = startChild(stack, target, stateDir);
  t.after(() => first.child.kill('SIGKILL'));
  await waitFor('the applier to be under way', () => (countFiles(target) >= 300 ? true : undefined), 60_000).catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${first.output()}`);
    },
  );
  const publishing = stack.publish(batchB);
  await waitFor('more progress', () => (countFiles(target) >= 1200 ? true : undefined), 60_000);
  first.child.kill('SIGKILL');
  await exited(first.child);
  await publishing;
  assert.ok(countFiles(target) < 2900, 'killed before the end');

  const second = startChild(stack, target, stateDir);
  t.after(() => second.child.kill('SIGKILL'));
  await waitFor(
    'convergence after the restart',
    () => (trySnapshot(target) === JSON.stringify(want) ? true : undefined),
    120_000,
  ).catch((error: Error) => {
    let got: string[] = [];
    try {
      got = snapshot(target);
    } catch {
      // the tree changes under the walk
    }
    const missing = want.filter((line) => !got.includes(line)).slice(0, 5);
    const extra = got.filter((line) => !want.includes(line)).slice(0, 5);
    throw new Error(
      `${error.message}\nmissing ${JSON.stringify(missing)}\nextra ${JSON.stringify(extra)}\n${second.output()}`,
    );
  });
  const leftovers = readdirSync(target, { recursive: true })
    .map(String)
    .filter((name) => name.includes('.mirrorlog-'));
  assert.deepEqual(leftovers, []);

  // Steady state this time (no rebuild in progress): kill -9 in the middle of a batch of rewrites.
  const batchC: MirrorEvent[] = [];
  for (let d = 0; d < 20; d++) {
    for (let f = 0; f < 100; f += 2) {
      const path = `dir${d}/file${f}.html`;
      if (!expected.has(path)) continue;
      const c = contents[(d * 3 + f + 1) % contents.length]!;
      batchC.push(events.file(path, c, 0o640, 1_800_000_000_000 + f));
      expected.set(path, fileLine(path, c, 0o640, 1_800_000_000_000 + f));
    }
  }
  const wantC = [...expected.values()].sort((a, b) => (a.split(' ')[0]! < b.split(' ')[0]! ? -1 : 1));
  const rewritten = () =>
    (JSON.parse(trySnapshot(target) ?? '[]') as string[]).filter((line) => line.includes(' file 640 ')).length;
  const publishingC = stack.publish(batchC);
  await waitFor('some rewrites', () => (rewritten() >= 150 ? true : undefined), 60_000);
  second.child.kill('SIGKILL');
  await exited(second.child);
  await publishingC;
  assert.ok(rewritten() < batchC.length, 'killed before the end of the rewrites');

  const third = startChild(stack, target, stateDir);
  t.after(() => third.child.kill('SIGKILL'));
  await waitFor(
    'convergence after the second kill',
    () => (trySnapshot(target) === JSON.stringify(wantC) ? true : undefined),
    120_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${third.output()}`);
  });
  third.child.kill('SIGTERM');
  assert.equal(await exited(third.child), 0, third.output());
});

// One contract every watcher backend keeps, on a real filesystem with the real stack:
// each scenario converges (the log describes the tree) with the periodic reconcile off,
// so only the watcher (and the reconcile a kernel overflow asks for) can find changes.
// The writers are child processes, as real writers are: the producer reads its events
// while they write. A backend that cannot run here fails its test with the reason.
// One test file per backend (test/integration/watcher-contract-*.int.test.ts), so that the
// two slowest integration files run side by side.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ProducerHandle } from '../../services/producer/producer.ts';
import { ensureCommand } from './apt.ts';
import { startTestProducer, tempDir } from './producer.ts';
import { freshTopic, waitFor } from './stack.ts';
import { followTopic, type TopicFollower } from './topic.ts';
import { diffTrees, snapshotTree, type TreeSnapshot } from './tree.ts';

/** Runs a command to completion without blocking this process (the producer reads meanwhile). */
function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`)),
    );
  });
}

const shell = (script: string, cwd: string) => run('sh', ['-c', script], cwd);
const node = (code: string, cwd: string) =>
  run(process.execPath, ['-e', `const fs = require('node:fs');\n${code}`], cwd);

/** Every path at or below `sub` (root-relative), from a synchronous walk. */
function namesBelow(root: string, sub: string): string[] {
  const names = [sub];
  const pending = [sub];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      continue; // changed meanwhile: compared again later
    }
    for (const entry of entries) {
      const rel = `${dir}/${entry.name}`;
      names.push(rel);
      if (entry.isDirectory()) pending.push(rel);
    }
  }
  return names;
}

/** The log's entries at or below `sub`, against the tree there now. */
async function convergedBelow(
  follower: TopicFollower,
  root: string,
  sub: string,
  what: string,
  timeoutMs = 300_000,
): Promise<void> {
  let last: string[] = [];
  const inside = (p: string) => p === sub || p.startsWith(`${sub}/`);
  try {
    await waitFor(
      `${what}: the log to describe ${sub}/`,
      async () => {
        // Names first (cheap); the full comparison (lstat, read, hash) only once they agree.
        const logged = new Set<string>();
        for (const p of follower.state().keys()) if (inside(p)) logged.add(p);
        const names = namesBelow(root, sub);
        if (names.length !== logged.size || names.some((name) => !logged.has(name))) {
          last = [
            `${names.filter((name) => !logged.has(name)).length} of ${names.length} names on disk not in the log; ` +
              `${logged.size} in the log`,
          ];
          return undefined;
        }
        const expected: TreeSnapshot = new Map();
        const top = fs.lstatSync(path.join(root, sub));
        expected.set(sub, { kind: 'dir', mode: top.mode & 0o7777 });
        for (const [rel, entry] of await snapshotTree(path.join(root, sub))) expected.set(`${sub}/${rel}`, entry);
        const actual: TreeSnapshot = new Map();
        for (const [p, state] of follower.state()) if (inside(p)) actual.set(p, state);
        last = diffTrees(expected, actual);
        return last.length === 0 ? true : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; differences:\n${last.join('\n')}`);
  }
}

async function counterValues(
  producer: ProducerHandle,
  name: 'reconciles' | 'watcherOverflows',
): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const { labels, value } of (await producer.metrics[name].get()).values) {
    const { trigger, backend } = labels as Record<string, string | undefined>;
    result[trigger ?? backend ?? ''] = value;
  }
  return result;
}

/** The contract's six scenarios as one test, against `backend`. */
export function watcherContract(backend: string): void {
  test(`watcher contract: ${backend}`, { timeout: 40 * 60_000 }, async (t: TestContext) => {
    const root = tempDir(t, `contract-${backend}`);
    const outside = tempDir(t, `contract-outside-${backend}`);
    const topic = freshTopic(t);
    // An explicit --watcher that cannot run here fails right here, with its reason. The
    // mass-deletion guard is off: the rsync --delete case is a mass deletion by design.
    const { producer } = await startTestProducer(t, {
      root,
      topic,
      watcher: backend,
      reconcileInterval: '24h',
      maxDelete: '0',
    });
    const running = (await producer.metrics.watcherBackend.get()).values.find((v) => v.value === 1)?.labels.backend;
    assert.equal(running, backend, `the producer watches with ${backend}`);
    const follower = await followTopic(t, topic);

    await t.test('mkdir -p and an immediate write, 300 times', async () => {
      fs.mkdirSync(path.join(root, 'mkdirp'));
      await shell(
        'for i in $(seq 300); do mkdir -p a$i/b/c && echo x$i > a$i/b/c/f.txt; done',
        path.join(root, 'mkdirp'),
      );
      await convergedBelow(follower, root, 'mkdirp', 'mkdir -p + write');
    });

    await t.test('50,000 files in one directory', async () => {
      fs.mkdirSync(path.join(root, 'wide'));
      await node("for (let i = 0; i < 50000; i++) fs.writeFileSync('f' + i, String(i));", path.join(root, 'wide'));
      await convergedBelow(follower, root, 'wide', '50k files in one directory');
    });

    await t.test('a burst beyond the kernel queue: 40,000 files in 300 directories, then a third updated', async () => {
      fs.mkdirSync(path.join(root, 'burst'));
      await node(
        `for (let d = 0; d < 300; d++) { fs.mkdirSync('d' + d); ` +
          `for (let f = 0; f < 134; f++) fs.writeFileSync('d' + d + '/f' + f, 'v1'); }
         for (let d = 0; d < 300; d++) for (let f = 0; f < 134; f += 3) fs.appendFileSync('d' + d + '/f' + f, ' v2');`,
        path.join(root, 'burst'),
      );
      await convergedBelow(follower, root, 'burst', 'burst and update');
    });

    await t.test('changes inside a renamed directory and inside a directory moved in from outside', async () => {
      fs.mkdirSync(path.join(root, 'moves/a/inner/deeper'), { recursive: true });
      fs.writeFileSync(path.join(root, 'moves/a/inner/deeper/x'), 'x');
      await convergedBelow(follower, root, 'moves', 'before the renames');
      await shell(
        `mv a b && echo y > b/inner/deeper/y && echo more >> b/inner/deeper/x ` +
          `&& mkdir b/inner/deeper/new && echo n > b/inner/deeper/new/n
         mkdir -p ${outside}/job/images/large && echo jpg > ${outside}/job/images/large/p.jpg
         mv ${outside}/job job && echo q > job/images/large/q.jpg ` +
          `&& mkdir job/images/small && echo s > job/images/small/s.jpg
         mv b c && echo w > c/inner/deeper/w`,
        path.join(root, 'moves'),
      );
      await convergedBelow(follower, root, 'moves', 'after the renames');
    });

    await t.test('rm -rf of 5,000 directories, then their re-creation', async () => {
      fs.mkdirSync(path.join(root, 'churn'));
      await node(
        "for (let d = 0; d < 5000; d++) { fs.mkdirSync('d' + d); fs.writeFileSync('d' + d + '/old', 'old'); }",
        path.join(root, 'churn'),
      );
      await convergedBelow(follower, root, 'churn', 'the 5,000 directories');
      await shell('rm -rf d*', path.join(root, 'churn'));
      await node(
        "for (let d = 0; d < 5000; d++) { fs.mkdirSync('d' + d); fs.writeFileSync('d' + d + '/new', 'new'); }",
        path.join(root, 'churn'),
      );
      await convergedBelow(follower, root, 'churn', 'after rm -rf and re-creation');
    });

    await t.test('rsync -a --delete of /usr/include over a copy of /usr/share', async () => {
      await ensureCommand('rsync', 'rsync', 'watcher contract');
      // The copy keeps /usr/share's names, modes and times but not its 600+ MB of contents:
      // the watcher's work (46k deletes, new directories filled at once) is the same.
      await run('cp', ['-a', '--attributes-only', '/usr/share', path.join(root, 'share')], root);
      await convergedBelow(follower, root, 'share', 'the copy of /usr/share');
      await run('rsync', ['-a', '--delete', '/usr/include/', 'share/'], root);
      await convergedBelow(follower, root, 'share', 'after rsync --delete');
    });

    const reconciles = await counterValues(producer, 'reconciles');
    const overflows = await counterValues(producer, 'watcherOverflows');
    t.diagnostic(
      `${backend}: reconciles by trigger ${JSON.stringify(reconciles)}, overflows ${JSON.stringify(overflows)}`,
    );
    assert.equal(reconciles.periodic ?? 0, 0, 'no periodic reconcile ran');
  });
}

// Someone with write access to the replica must not be able to steer the applier outside
// it (DESIGN rule 5; issue 20: H1, H2, H6). Each test has an attacker process act on the
// replica between (or during) events of a real applier on the real stack, then checks
// every file and directory outside the target by hash, mode and mtime.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ApplierHandle } from '../../services/applier/applier.ts';
import { applierStack, events, snapshot, trySnapshot, type ApplierStack } from '../helpers/applier-harness.ts';
import { defer } from '../helpers/cleanup.ts';
import { kafkaAdmin, waitFor } from '../helpers/stack.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Every entry below `dir` (not followed): type, mode, mtime (ns), size and sha256. */
function fingerprint(dir: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    const stat = lstatSync(abs, { bigint: true });
    const kind = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'link' : 'file';
    const hash = kind === 'file' ? createHash('sha256').update(readFileSync(abs)).digest('hex') : '';
    lines.push(`${rel || '.'} ${kind} ${(stat.mode & 0o7777n).toString(8)} ${stat.mtimeNs} ${stat.size} ${hash}`);
    if (kind === 'dir') for (const name of readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  return lines;
}

/** An outside directory with files an attacker would like the applier to overwrite, chmod or delete. */
function makeOutside(base: string): string {
  const outside = join(base, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
  for (const [name, text] of [
    ['victim', 'precious'],
    ['f1', 'outside f1'],
    ['g', 'outside g'],
    ['other', 'other'],
    ['sub/inner', 'inner'],
    ['sub/p1', 'outside p1'],
  ]) {
    writeFileSync(join(outside, name!), text!, { mode: 0o640 });
  }
  return outside;
}

/** Resolves once the applier has made every record published so far durable (applied or dead-lettered). */
async function allApplied(
  t: TestContext,
  stack: ApplierStack,
  applier: ApplierHandle,
  timeoutMs = 60_000,
): Promise<void> {
  const admin = await kafkaAdmin(t);
  const high = new Map((await admin.fetchTopicOffsets(stack.topic)).map((p) => [String(p.partition), Number(p.high)]));
  await waitFor(
    'the applier to make every record durable',
    async () => {
      const metric = (await applier.registry.getMetricsAsJSON()).find(
        (m) => m.name === 'mirrorlog_applier_committed_offset',
      );
      const done = new Map((metric?.values ?? []).map((v) => [String(v.labels['partition']), v.value]));
      return [...high].every(([partition, offset]) => offset === 0 || done.get(partition) === offset)
        ? true
        : undefined;
    },
    timeoutMs,
    100,
  );
}

async function metricValue(applier: ApplierHandle, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await applier.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

type Attacker = {
  /** Actions done so far (as last reported). */
  acts(): number;
  /** Stops it; resolves with its report (a JSON line of what it did). */
  stop(): Promise<string>;
};

/** The attacker as its own process (test/helpers/replica-attacker.ts), once it runs; stopped after the test. */
async function startAttacker(
  t: TestContext,
  mode: 'plant-temps' | 'random',
  replica: string,
  outside: string,
): Promise<Attacker> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'test/helpers/replica-attacker.ts'), mode, replica, outside],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  let acts = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const match of output.matchAll(/"acts":(\d+)/g)) acts = Math.max(acts, Number(match[1]));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    return output.trim().split('\n').pop() ?? '';
  };
  defer(t, stop);
  await waitFor(
    'the attacker to start',
    () =>
      output.includes('"started"')
        ? true
        : child.exitCode === null
          ? undefined
          : assert.fail(`attacker exited: ${output}`),
    30_000,
  );
  return { acts: () => acts, stop };
}

function sh(command: string): void {
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command}: ${result.stderr}`);
}

test(
  'H1: a replica directory swapped for a symlink between events ' + 'steers no write, delete or removal outside',
  async (t) => {
    const stack = await applierStack(t);
    const target = join(stack.dir, 'replica');
    const outside = makeOutside(stack.dir);
    const before = fingerprint(outside);
    const v1 = await stack.put('v1');
    await stack.publish([
      events.dir('a'),
      events.file('a/f1', v1),
      events.file('a/g', v1),
      events.dir('a/sub'),
      events.file('a/sub/p1', v1),
    ]);
    const applier = await stack.start(stack.config({ target, replica: 'h1' }));
    await waitFor('convergence', () => (trySnapshot(target)?.includes('a/sub/p1') ? true : undefined));

    // The attacker, a process of its own, swaps the directory for a symlink to the outside.
    sh(`mv '${target}/a' '${target}/a.old' && ln -s '${outside}' '${target}/a'`);
    const v2 = await stack.put('v2');
    await stack.publish([
      events.file('a/f1', v2),
      events.delete('a/g'),
      events.delete('a/sub/p1'),
      events.delete('a/sub'),
      events.file('a/sub/new', v2),
    ]);
    await allApplied(t, stack, applier);

    assert.deepEqual(fingerprint(outside), before, 'nothing outside the target changed');
    // Writes under the swapped directory were refused and reported, not silently dropped.
    assert.ok((await metricValue(applier, 'mirrorlog_applier_dead_letters_total', { reason: 'unsafe-path' })) >= 2);
  },
);

test('H2: staged large content is never reachable through names an attacker can plant in the replica', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  mkdirSync(target);
  const outside = makeOutside(stack.dir);
  const before = fingerprint(outside);
  // The production layout: state on another filesystem than the target.
  const stateBase = mkdtempSync('/dev/shm/mirrorlog-h2-');
  defer(t, () => rmSync(stateBase, { recursive: true, force: true }));
  assert.notEqual(
    lstatSync(stateBase).dev,
    lstatSync(target).dev,
    'the state dir must be on another filesystem for this test',
  );

  const attacker = await startAttacker(t, 'plant-temps', target, outside);
  const applier = await stack.start(stack.config({ target, replica: 'h2', stateDir: join(stateBase, 'state') }), {
    largeThreshold: 1024,
  });
  const list = [];
  for (let i = 0; i < 40; i++)
    list.push(events.file(i % 2 === 0 ? `big${i}` : `d/big${i}`, await stack.put(randomBytes(4096 + i))));
  await stack.publish(list);
  const applied = await allApplied(t, stack, applier).then(
    () => undefined,
    (error: unknown) => error,
  );
  const report = await attacker.stop();

  // Outside first: a partition stuck on a planted name (ELOOP forever) must not hide a write through it.
  assert.deepEqual(fingerprint(outside), before, `nothing outside the target changed (attacker: ${report})`);
  assert.equal(applied, undefined, 'every record was applied or dead-lettered');
  assert.match(report, /"counts"/);
});

test(
  'H6: metadata changes go through the file itself: ' +
    'a planted hard link to an outside file is replaced, never chmod-ed',
  async (t) => {
    const stack = await applierStack(t);
    const target = join(stack.dir, 'replica');
    const outside = makeOutside(stack.dir);
    const content = await stack.put('replica content');
    await stack.publish([events.file('a/f', content, 0o644, 1_600_000_000_000)]);
    const applier = await stack.start(stack.config({ target, replica: 'h6' }));
    await waitFor('convergence', () => (trySnapshot(target)?.includes('a/f') ? true : undefined));

    // The attacker replaces the replica's file by a hard link to a file outside.
    sh(`ln -f '${outside}/victim' '${target}/a/f'`);
    const before = fingerprint(outside);
    // Same content, new mode and mtime: a metadata-only change for the applier. Plus a setuid file.
    await stack.publish([
      events.file('a/f', content, 0o4755, 1_700_000_000_000),
      events.file('s', content, 0o6755, 1_700_000_000_000),
    ]);
    await allApplied(t, stack, applier);

    assert.deepEqual(fingerprint(outside), before, 'the outside file kept its mode, mtime and content');
    const lines = snapshot(target);
    assert.ok(lines.includes(`a/f file 755 1700000000000 ${content.hash.slice(0, 12)}`), lines.join('\n'));
    assert.ok(lines.includes(`s file 755 1700000000000 ${content.hash.slice(0, 12)}`), lines.join('\n'));
    assert.equal(lstatSync(join(target, 'a/f')).nlink, 1, 'the link was broken, not followed');
    assert.equal(await metricValue(applier, 'mirrorlog_applier_setid_stripped_total'), 2);
  },
);

test(
  'randomized: directories swapped for symlinks and files for hard links ' +
    'at random moments of a burst change nothing outside',
  async (t) => {
    const stack = await applierStack(t);
    const target = join(stack.dir, 'replica');
    mkdirSync(target);
    const outside = makeOutside(stack.dir);
    const before = fingerprint(outside);
    // The applier first: junk the attacker made before it started would be a non-empty target, refused.
    const applier = await stack.start(stack.config({ target, replica: 'rnd' }), { largeThreshold: 2048 });
    const attacker = await startAttacker(t, 'random', target, outside);
    const small = await stack.put('small');
    const large = await stack.put(randomBytes(5000));
    for (let round = 0; round < 4; round++) {
      const list = [];
      for (let d = 0; d < 8; d++) {
        list.push(events.dir(`d${d}`), events.dir(`d${d}/e`));
        for (let f = 0; f < 12; f++) {
          const path = f % 3 === 0 ? `d${d}/e/f${f}` : `d${d}/f${f}`;
          list.push(events.file(path, f % 4 === 0 ? large : small, 0o644 + round, 1_600_000_000_000 + round));
        }
      }
      // Metadata-only changes, deletes and subtree removals between rounds.
      for (let d = 0; d < 8; d += 2)
        list.push(events.file(`d${d}/f1`, small, 0o600, 1_650_000_000_000 + round), events.delete(`d${d}/f2`));
      if (round % 2 === 1)
        list.push(
          events.delete(`d${round}/e/f0`),
          events.delete(`d${round}/e/f3`),
          events.delete(`d${round}/e/f6`),
          events.delete(`d${round}/e/f9`),
          events.delete(`d${round}/e`),
        );
      await stack.publish(list);
      // The attacker acts between the rounds too, not only while records are in flight.
      const acted = attacker.acts();
      await waitFor('the attacker to act', () => (attacker.acts() >= acted + 20 ? true : undefined), 30_000);
    }
    await allApplied(t, stack, applier, 120_000);
    const report = await attacker.stop();
    assert.deepEqual(fingerprint(outside), before, `nothing outside the target changed (attacker: ${report})`);
    assert.match(report, /dir-to-symlink|file-to-hardlink/);
  },
);

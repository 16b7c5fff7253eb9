// The applier against the real stack: every op lands on disk with its mode and mtime, a
// second replica (its own group) converges from the earliest offset, a wiped replica
// converges after --rebuild, and a rebuild sweeps away what the log does not hold.
import { replicaGroupId } from '../../schemas/names.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, snapshot, trySnapshot } from '../helpers/applier-harness.ts';
import { kafkaAdmin, waitFor } from '../helpers/stack.ts';

test('applies every op with modes and mtimes, and serves health, readiness and metrics', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  const hello = await stack.put('hello\n');
  const other = await stack.put('other content');
  const big = await stack.put(randomBytes(9 * 1024 * 1024 + 5)); // above 8 MiB: staged in a file, not held in memory
  await stack.publish([
    events.file('site/img/big.bin', big, 0o640, 1_600_000_000_500),
    events.dir('site', 0o750),
    events.dir('site/img', 0o700),
    events.file('site/index.html', hello, 0o644, 1_600_000_000_001),
    events.file('site/run.sh', other, 0o4755, 1_600_000_000_999),
    events.file('site/img/gone.png', other),
    events.symlink('site/latest', 'index.html'),
    events.symlink('top-link', '/absolute/elsewhere'),
  ]);
  await stack.publish([
    events.delete('site/img/gone.png'),
    events.file('site/index.html', other, 0o600, 1_600_000_001_000),
  ]);

  const applier = await stack.start(stack.config({ target, replica: 'r1' }));
  const expected = [
    'site dir 750',
    'site/img dir 700',
    `site/img/big.bin file 640 1600000000500 ${big.hash.slice(0, 12)}`,
    `site/index.html file 600 1600000001000 ${other.hash.slice(0, 12)}`,
    'site/latest symlink -> index.html',
    `site/run.sh file 755 1600000000999 ${other.hash.slice(0, 12)}`, // setuid stripped: no --allow-setid
    'top-link symlink -> /absolute/elsewhere',
  ];
  await waitFor(
    'the replica to match',
    () => (trySnapshot(target) === JSON.stringify(expected) ? true : undefined),
    30_000,
  );

  const base = `http://127.0.0.1:${applier.port}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  await waitFor('readiness', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 20_000);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /mirrorlog_applier_events_total\{op="file",outcome="applied",service="applier"\} 5/);
  assert.match(metrics, /mirrorlog_applier_apply_latency_seconds_count/);
  assert.match(metrics, /mirrorlog_applier_setid_stripped_total\{service="applier"\} 1/);
  assert.match(metrics, /mirrorlog_applier_lag_records\{partition="\d",service="applier"\} 0/);

  // Live changes keep flowing, and a clean stop commits the group's offsets.
  await stack.publish([events.delete('site'), events.file('fresh', hello, 0o640, 1_700_000_000_000)]);
  await waitFor('live changes', () =>
    trySnapshot(target) ===
    JSON.stringify([
      `fresh file 640 1700000000000 ${hello.hash.slice(0, 12)}`,
      'top-link symlink -> /absolute/elsewhere',
    ])
      ? true
      : undefined,
  );
  await applier.stop();
  assert.equal(
    readdirSync(target).some((name) => name.includes('mirrorlog-')),
    false,
    'no temp file left',
  );
  const admin = await kafkaAdmin(t);
  const high = await admin.fetchTopicOffsets(stack.topic);
  const [committed] = await admin.fetchOffsets({ groupId: replicaGroupId(stack.topic, 'r1'), topics: [stack.topic] });
  assert.deepEqual(
    committed!.partitions.map((p) => [p.partition, p.offset]).sort(),
    high.map((p) => [p.partition, p.high]).sort(),
    'the group committed everything it applied',
  );
});

test('a second replica converges from the earliest offset; a wiped one converges after --rebuild', async (t) => {
  const stack = await applierStack(t);
  const list = [];
  for (let d = 0; d < 5; d++) {
    list.push(events.dir(`d${d}`, 0o755));
    for (let f = 0; f < 20; f++)
      list.push(events.file(`d${d}/f${f}.txt`, await stack.put(`content ${d}/${f}`), 0o644, 1_650_000_000_000 + f));
  }
  list.push(events.delete('d4/f0.txt'), events.symlink('d3/link', 'f1.txt'));
  await stack.publish(list);

  const first = join(stack.dir, 'first');
  const second = join(stack.dir, 'second');
  const a = await stack.start(stack.config({ target: first, replica: 'first' }));
  await waitFor('the first replica', () =>
    (JSON.parse(trySnapshot(first) ?? '[]') as string[]).length === 5 + 100 - 1 + 1 ? true : undefined,
  );
  await stack.start(stack.config({ target: second, replica: 'second' }));
  await waitFor('the second replica to equal the first', () => {
    const got = trySnapshot(second);
    return got !== undefined && got === trySnapshot(first) ? true : undefined;
  });
  const reference = snapshot(first);

  // Wipe the first replica while it is stopped; it notices the empty target and rebuilds.
  await a.stop();
  rmSync(first, { recursive: true });
  mkdirSync(first);
  const rebuilt = await stack.start(stack.config({ target: first, replica: 'first' }));
  await waitFor('the wiped replica to converge', () =>
    trySnapshot(first) === JSON.stringify(reference) ? true : undefined,
  );
  await waitFor('the rebuild to complete', () => (rebuilt.readiness().ready ? true : undefined));
  await rebuilt.stop();

  // Damage it differently: extra files and a changed file; --rebuild repairs and sweeps.
  writeFileSync(join(first, 'd0/intruder'), 'not in the log');
  mkdirSync(join(first, 'stray/dir'), { recursive: true });
  writeFileSync(join(first, 'd1/f1.txt'), 'tampered');
  const repaired = await stack.start(stack.config({ target: first, replica: 'first', rebuild: true }));
  await waitFor('--rebuild to converge', () =>
    trySnapshot(first) === JSON.stringify(reference) && repaired.readiness().ready ? true : undefined,
  );
  assert.equal(existsSync(join(first, 'stray')), false);
  assert.equal(readFileSync(join(first, 'd1/f1.txt'), 'utf8'), 'content 1/1');
});

test('--rebuild over an intact replica applies what changed meanwhile', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  const keep = await stack.put('keep');
  await stack.publish([events.dir('a'), events.file('a/keep', keep), events.file('a/old', keep)]);
  const first = await stack.start(stack.config({ target, replica: 'sweep' }));
  await waitFor('first sync', () =>
    (JSON.parse(trySnapshot(target) ?? '[]') as string[]).length === 3 ? true : undefined,
  );
  await first.stop();
  await stack.publish([events.delete('a/old')]);
  const again = await stack.start(stack.config({ target, replica: 'sweep', rebuild: true }));
  await waitFor('rebuild', () =>
    again.readiness().ready &&
    trySnapshot(target) === JSON.stringify(['a dir 755', `a/keep file 644 1690000000123 ${keep.hash.slice(0, 12)}`])
      ? true
      : undefined,
  );
});

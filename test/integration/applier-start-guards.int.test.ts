// What an applier refuses at start, against the real stack: a topic that does not exist
// (a mistyped --topic) is one line naming it, exit 2, and creates nothing; a new replica
// on a target that already holds files is refused unless --adopt or --rebuild says so; a
// target equal to, inside or around the tree's source root on this host is refused (and
// by `mirrorlog up` too).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, snapshot, trySnapshot } from '../helpers/applier-harness.ts';
import { runCli } from '../helpers/services.ts';
import { kafkaAdmin, waitFor } from '../helpers/stack.ts';
import { CliError } from '../../services/shared/errors.ts';
import { ensureMetadataTopic, publishMember, readMembers, thisHost } from '../../services/shared/tree-metadata.ts';
import { kafka } from '../helpers/stack.ts';
import { realpathSync } from 'node:fs';

/** A target that looks like a replica of 21 entries. */
function fillTarget(target: string): void {
  for (let d = 0; d < 3; d++) {
    mkdirSync(join(target, `d${d}`), { recursive: true });
    for (let f = 0; f < 6; f++) writeFileSync(join(target, `d${d}`, `f${f}`), `file ${d}/${f}`);
  }
  writeFileSync(join(target, 'a'), 'a');
  writeFileSync(join(target, 'b'), 'b');
  writeFileSync(join(target, 'c'), 'c');
}

test(
  'a mistyped --topic: one line naming it, exit 2, no topic created, the target untouched',
  { timeout: 120_000 },
  async (t) => {
    const stack = await applierStack(t);
    const target = join(stack.dir, 'full');
    fillTarget(target);
    const before = snapshot(target);
    const typo = stack.topic.slice(0, -1);
    const result = await stack.runApplierCli({
      target,
      replica: 'typo',
      stateDir: join(stack.dir, 'fresh-state'),
      topic: typo,
    });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, new RegExp(`topic '${typo.replaceAll('.', '\\.')}' does not exist`));
    const topics = await (await kafkaAdmin(t)).listTopics();
    assert.equal(
      topics.filter((name) => name.startsWith(typo) && name !== stack.topic).length,
      0,
      `created: ${topics.filter((n) => n.startsWith(typo)).join(', ')}`,
    );
    assert.deepEqual(snapshot(target), before, 'nothing on the target changed');
  },
);

test('a new replica on a non-empty target is refused; --adopt keeps what matches, then converges', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'full');
  const kept = await stack.put('kept content');
  const fresh = await stack.put('fresh content');
  await stack.publish([
    events.dir('d', 0o755),
    events.file('d/kept', kept, 0o644, 1_690_000_000_123),
    events.file('d/fresh', fresh, 0o644, 1_690_000_000_123),
  ]);
  mkdirSync(join(target, 'd'), { recursive: true });
  writeFileSync(join(target, 'd', 'kept'), 'kept content');
  writeFileSync(join(target, 'stray'), 'not in the log');
  const before = snapshot(target);

  await assert.rejects(stack.start(stack.config({ target, replica: 'adopted' })), (error: Error) => {
    assert.ok(error instanceof CliError, String(error));
    assert.match(error.message, /is not empty.*--adopt.*--rebuild/);
    return true;
  });
  assert.deepEqual(snapshot(target), before, 'the refusal touched nothing');
  const topics = await (await kafkaAdmin(t)).listTopics();
  assert.equal(topics.includes(`${stack.topic}.dlq.adopted`), false, 'no dead-letter topic made at start');

  const adopted = await stack.start(stack.config({ target, replica: 'adopted', adopt: true }));
  const expected = [
    'd dir 755',
    `d/fresh file 644 1690000000123 ${fresh.hash.slice(0, 12)}`,
    `d/kept file 644 1690000000123 ${kept.hash.slice(0, 12)}`,
  ];
  await waitFor('the adopted replica to converge', () =>
    adopted.readiness().ready && trySnapshot(target) === JSON.stringify(expected) ? true : undefined,
  );
  const acquired =
    (await adopted.registry.getSingleMetric('mirrorlog_applier_content_acquired_total')?.get())?.values ?? [];
  const from = (source: string) => acquired.find((v) => v.labels['source'] === source)?.value ?? 0;
  assert.deepEqual(
    [from('local'), from('store')],
    [1, 1],
    'the matching file was taken from the target, the other from the store',
  );
  assert.equal(readdirSync(target).includes('stray'), false, 'what the log lacks was swept');
});

test(
  "a target equal to, inside or around the producer's root on this host is refused; up refuses too",
  { timeout: 180_000 },
  async (t) => {
    const stack = await applierStack(t);
    const outer = join(realpathSync(stack.dir), 'outer');
    const root = join(outer, 'source');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'precious'), 'source data');
    await ensureMetadataTopic(await kafkaAdmin(t), stack.topic);
    const client = kafka('overlap-test');
    await publishMember(client, stack.topic, {
      v: 1,
      role: 'producer',
      host: thisHost(),
      source: 'src',
      root,
      stateDir: join(stack.dir, 'pstate'),
      at: Date.now(),
    });
    const cases: [string, RegExp][] = [
      [join(root, 'replica'), /is inside it|contains it/],
      [root, /is the same directory/],
      [outer, /is inside it|contains it/],
    ];
    for (const [target, relation] of cases) {
      await assert.rejects(
        stack.start(stack.config({ target, replica: 'overlap', stateDir: join(stack.dir, 'astate'), adopt: true })),
        (error: Error) => {
          assert.ok(error instanceof CliError, String(error));
          assert.match(
            error.message,
            new RegExp(
              `^--target ${target.replaceAll('/', '\\/')} overlaps the source of this tree: ` +
                `the root of source 'src' on `,
            ),
          );
          assert.match(error.message, relation);
          return true;
        },
      );
    }
    assert.deepEqual(readdirSync(root), ['precious'], 'nothing written into the source');

    // A replica elsewhere starts, and names itself in the metadata for the producer to see.
    const elsewhere = join(stack.dir, 'elsewhere');
    const applier = await stack.start(
      stack.config({ target: elsewhere, replica: 'apart', stateDir: join(stack.dir, 'astate2') }),
    );
    await waitFor('ready', () => (applier.readiness().ready ? true : undefined));
    const member = (await readMembers(client, stack.topic)).find((m) => m.role === 'applier');
    assert.deepEqual(member && { replica: member.replica, target: member.target, host: member.host }, {
      replica: 'apart',
      target: elsewhere,
      host: thisHost(),
    });

    const up = await runCli(['up', '--root', root, '--target', join(root, 'replica'), '--brokers', '127.0.0.1:1']);
    assert.equal(up.code, 2, up.stdout + up.stderr);
    assert.equal(
      up.stderr,
      `mirrorlog: --target ${join(root, 'replica')} is inside --root ${root}: ` +
        `a replica and its source must not overlap\n`,
    );
    assert.deepEqual(readdirSync(root), ['precious']);
  },
);

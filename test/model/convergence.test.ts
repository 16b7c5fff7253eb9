// The claim mirrorlog rests on: whatever the watcher loses, however the partitions are
// interleaved and however often records are redelivered, every replica ends up identical
// to the source.
//
// Random user operations run on the in-memory source tree. The REAL producer core
// (pipeline, examiner, publish stage, reconciler, new-directory walker, built by the same
// factory as the service) watches it through a lossy channel that delivers reports late,
// drops some, and overflows with and without the overflow signal; the tree's own watcher
// reports changes inside a renamed directory under its old path, and leaves directories
// made by `mkdir -p` unwatched, as inotify does. Sends to the broker fail at random (lost,
// or appended but not acknowledged). The records go through the real codec and the real
// partitioner; the real `decide` applies them in a random interleaving that keeps each
// partition's order, with random rewinds (a restart from an older committed offset), and
// its file writes complete in a random order, as the lane's parallel writes do.
//
// The periodic reconcile is off. Every loss the producer can notice (an overflow signal, a
// vanished path, a new or replaced directory) must converge by itself. The losses that
// cannot be noticed by design are named: a report dropped silently ('drop') and an
// overflow without a signal ('overflow-silent'). Only cases with one of them may need the
// periodic walk, and after it they must converge too. The same log, compacted as Kafka
// compacts it, must also build a new replica from scratch.
//
// npm test runs 3,000 cases with a fixed seed; `npm run test:model -- --runs 50000`
// soaks with a random seed (`--seed N` replays one; fast-check prints seed and path).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import type { EntryState, MirrorEvent } from '../../schemas/event.ts';
import { PERIODIC_TRIGGER } from '../../services/producer/reconciler.ts';
import { ManualClock } from '../../services/shared/clock.ts';
import { LossyWatcher, type Delivery } from './lossy-watcher.ts';
import { ProducerHarness, type SendFailure } from './producer-harness.ts';
import { ReplicaModel } from './replica-model.ts';
import { SourceModel, sourceOpArb, type PathRef, type SourceOp } from './source-model.ts';

const PARTITIONS = 3;
// scripts/run-tests.mjs passes the arguments after `--` as a JSON array.
const { values: args } = parseArgs({
  args: JSON.parse(process.env.MIRRORLOG_TEST_ARGS ?? '[]') as string[],
  options: { runs: { type: 'string' }, seed: { type: 'string' } },
  strict: false,
});
const numRuns = Number(args.runs ?? 3000);
const seed = args.seed !== undefined ? Number(args.seed) : args.runs !== undefined ? Date.now() % 2 ** 31 : 20261201;

type Step = { op: SourceOp<PathRef>; delivery: Delivery; run: boolean; advanceMs: number };
type Scenario = {
  /** Operations before the producer starts: its start-up walk finds them. */
  before: SourceOp<PathRef>[];
  steps: Step[];
  sendFailures: SendFailure[];
  /** Files above this size go through the content store instead of inline. */
  inlineMaxBytes: number;
  clockSteps: number[];
  schedule: number[];
};

const deliveryArb: fc.Arbitrary<Delivery> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Delivery>('deliver') },
  { weight: 5, arbitrary: fc.constant<Delivery>('hold') },
  { weight: 1, arbitrary: fc.constant<Delivery>('drop') },
  { weight: 1, arbitrary: fc.constant<Delivery>('overflow') },
  { weight: 1, arbitrary: fc.constant<Delivery>('overflow-silent') },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  before: fc.array(sourceOpArb, { maxLength: 8 }),
  steps: fc.array(
    fc.record({ op: sourceOpArb, delivery: deliveryArb, run: fc.boolean(), advanceMs: fc.constantFrom(0, 1, 3, 50) }),
    {
      minLength: 1,
      maxLength: 40,
    },
  ),
  sendFailures: fc.array(fc.constantFrom<SendFailure>('none', 'none', 'none', 'none', 'lost', 'after-append'), {
    maxLength: 6,
  }),
  inlineMaxBytes: fc.constantFrom(16_384, 3),
  // Mostly forward, sometimes backwards: the hybrid clock must keep seqs increasing.
  clockSteps: fc.array(fc.integer({ min: -3000, max: 5000 }), { minLength: 1, maxLength: 8 }),
  schedule: fc.array(fc.nat(), { maxLength: 300 }),
});

type Produced = { source: SourceModel; harness: ProducerHarness; lossy: LossyWatcher; neededWalk: boolean };

async function produce(scenario: Scenario): Promise<Produced> {
  const clock = new ManualClock();
  const source = new SourceModel(() => clock.now());
  for (const op of scenario.before) source.run(op);
  const lossy = new LossyWatcher();
  let micros = 1_700_000_000_000_000;
  let tick = 0;
  const nowMicros = () => (micros += scenario.clockSteps[tick++ % scenario.clockSteps.length]!);
  const harness = new ProducerHarness(lossy.wrap(source.tree), clock, {
    partitions: PARTITIONS,
    tuning: { inlineMaxBytes: scenario.inlineMaxBytes },
    nowMicros,
  });
  harness.failSends(scenario.sendFailures);
  await harness.start();
  for (const { op, delivery, run, advanceMs } of scenario.steps) {
    source.run(op);
    lossy.pass(delivery);
    clock.advance(advanceMs);
    if (run) await harness.settle();
  }
  lossy.pass('deliver'); // what was held back arrives late, after everything
  await harness.settle();
  const neededWalk = describeDiff(source.tree.snapshot(), indexSnapshot(harness)) !== '';
  if (neededWalk) {
    // Only a loss nothing reported may need the periodic walk.
    assert.ok(lossy.silentLosses > 0, `diverged without a silent loss:\n${story(source, harness)}`);
    harness.core.reconcile(PERIODIC_TRIGGER);
    await harness.settle();
  }
  return { source, harness, lossy, neededWalk };
}

function indexSnapshot(harness: ProducerHarness): Map<string, EntryState> {
  return new Map(harness.index.below('').map((path) => [path, harness.index.get(path)!.state]));
}

function story(source: SourceModel, harness: ProducerHarness): string {
  const diff = describeDiff(source.tree.snapshot(), indexSnapshot(harness));
  return `${diff}\noperations:\n${source.history.join('\n')}`;
}

/** Delivers every record, interleaving partitions and rewinding cursors as the schedule says. */
function deliver(partitions: MirrorEvent[][], schedule: number[], replica: ReplicaModel): void {
  const cursors = partitions.map(() => 0);
  for (const choice of schedule) {
    const p = choice % partitions.length;
    const records = partitions[p]!;
    if (choice % 11 === 10 && cursors[p]! > 0) {
      cursors[p] = Math.floor(choice / 11) % (cursors[p]! + 1);
    } else if (choice % 7 === 6) {
      replica.forgetTombstones();
    } else if (choice % 5 === 4) {
      replica.completeOne(Math.floor(choice / 5));
    } else if (cursors[p]! < records.length) {
      replica.deliver(records[cursors[p]!++]!);
    }
  }
  for (let p = 0; p < partitions.length; p++) {
    while (cursors[p]! < partitions[p]!.length) replica.deliver(partitions[p]![cursors[p]!++]!);
  }
  replica.settle();
}

/** Kafka compaction: the latest record of each key, in log order; tombstones optionally gone too. */
function compact(records: MirrorEvent[], dropTombstones: boolean): MirrorEvent[] {
  const latest = new Map<string, number>();
  records.forEach((event, offset) => latest.set(event.path, offset));
  return records.filter(
    (event, offset) => latest.get(event.path) === offset && !(dropTombstones && event.op === 'delete'),
  );
}

/** JSON with sorted keys, so equal states print equal. */
function canonical(state: EntryState | undefined): string | undefined {
  return state === undefined ? undefined : JSON.stringify(state, Object.keys(state).sort());
}

function describeDiff(expected: Map<string, EntryState>, actual: Map<string, EntryState>): string {
  const lines: string[] = [];
  for (const path of new Set([...expected.keys(), ...actual.keys()])) {
    const a = canonical(expected.get(path));
    const b = canonical(actual.get(path));
    if (a !== b) lines.push(`${JSON.stringify(path)}: source ${a ?? 'missing'}, other ${b ?? 'missing'}`);
  }
  return lines.join('\n');
}

function assertConverged(source: SourceModel, replica: ReplicaModel, what: string): void {
  const diff = describeDiff(source.tree.snapshot(), replica.snapshot());
  assert.equal(diff, '', `${what} differs from the source:\n${diff}\noperations:\n${source.history.join('\n')}`);
  assert.equal(replica.checkIndexMatchesFs(), undefined, `${what}: applied index and files disagree`);
}

test(`replicas converge to the source through the real producer (${numRuns} cases, seed ${seed})`, async () => {
  const counts = { cases: 0, silentLosses: 0, neededWalk: 0, outOfOrder: 0, waitedFor: 0 };
  await fc.assert(
    fc.asyncProperty(scenarioArb, fc.boolean(), async (scenario, dropTombstones) => {
      const { source, harness, lossy, neededWalk } = await produce(scenario);
      counts.cases++;
      if (lossy.silentLosses > 0) counts.silentLosses++;
      if (neededWalk) counts.neededWalk++;
      assert.equal(
        describeDiff(source.tree.snapshot(), indexSnapshot(harness)),
        '',
        `the producer's index:\n${story(source, harness)}`,
      );
      assert.deepEqual(harness.missingContent, [], 'an event referenced content not yet in the store');

      const live = new ReplicaModel();
      deliver(harness.partitions, scenario.schedule, live);
      assertConverged(source, live, 'the live replica');
      counts.outOfOrder += live.outOfOrder;
      counts.waitedFor += live.waitedFor;

      const fresh = new ReplicaModel();
      deliver(
        harness.partitions.map((records) => compact(records, dropTombstones)),
        [...scenario.schedule].reverse(),
        fresh,
      );
      assertConverged(source, fresh, 'a replica built from the compacted log');
      await harness.core.stop();
    }),
    { numRuns, seed, includeErrorInReport: true },
  );
  // The named silent losses really happen, and some really need the walk: else this test proves less than it says.
  assert.ok(counts.silentLosses > numRuns / 20, `silent losses in ${counts.silentLosses} of ${counts.cases} cases`);
  assert.ok(counts.neededWalk > 0, `no case needed the periodic walk (${JSON.stringify(counts)})`);
  // Parallel writes really completed out of order, and really had to wait for each other.
  assert.ok(counts.outOfOrder > numRuns / 20, `writes completed out of order: ${JSON.stringify(counts)}`);
  assert.ok(counts.waitedFor > numRuns / 10, `writes waited for: ${JSON.stringify(counts)}`);
  process.stdout.write(`# ${JSON.stringify(counts)}\n`);
});

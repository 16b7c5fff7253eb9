// The claim mirrorlog rests on: however the partitions are interleaved and however often
// records are redelivered, every replica ends up identical to the source.
//
// Random user operations run on a source model; the producer's real diff turns watcher
// hints into events (some hint batches are lost, as inotify loses them, and a final
// reconcile catches up); the real partitioner splits them over 3 partitions; the real
// `decide` applies them in a random interleaving that keeps each partition's order,
// with random rewinds (a restart from an older committed offset). Then the replica must
// equal the source. The same log, compacted as Kafka compacts it, must also build a new
// replica from scratch.
//
// npm test runs 5,000 cases with a fixed seed; `npm run test:model -- --runs 50000`
// soaks with a random seed (`--seed N` replays one; fast-check prints seed and path).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import type { EntryState, MirrorEvent } from '../../schemas/event.ts';
import { ProducerModel } from './producer-model.ts';
import { ReplicaModel } from './replica-model.ts';
import { SourceTree, sourceOpArb, type PathRef, type SourceOp } from './source-model.ts';

const PARTITIONS = 3;
// scripts/run-tests.mjs passes the arguments after `--` as a JSON array.
const { values: args } = parseArgs({
  args: JSON.parse(process.env.MIRRORLOG_TEST_ARGS ?? '[]') as string[],
  options: { runs: { type: 'string' }, seed: { type: 'string' } },
  strict: false,
});
const numRuns = Number(args.runs ?? 5000);
const seed = args.seed !== undefined ? Number(args.seed) : args.runs !== undefined ? Date.now() % 2 ** 31 : 20261125;

type Scenario = {
  ops: { op: SourceOp<PathRef>; flush: boolean; lost: boolean }[];
  clockSteps: number[];
  schedule: number[];
};

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  ops: fc.array(fc.record({ op: sourceOpArb, flush: fc.boolean(), lost: fc.integer({ min: 0, max: 11 }).map((n) => n === 0) }), { minLength: 1, maxLength: 60 }),
  // Mostly forward, sometimes backwards: the hybrid clock must keep seqs increasing.
  clockSteps: fc.array(fc.integer({ min: -3000, max: 5000 }), { minLength: 1, maxLength: 8 }),
  schedule: fc.array(fc.nat(), { maxLength: 300 }),
});

function produce(scenario: Scenario): { source: SourceTree; partitions: MirrorEvent[][] } {
  const source = new SourceTree();
  let now = 1_700_000_000_000_000;
  let tick = 0;
  const producer = new ProducerModel(source, PARTITIONS, () => (now += scenario.clockSteps[tick++ % scenario.clockSteps.length]!));
  let hints: string[] = [];
  let lost = false;
  for (const { op, flush, lost: loses } of scenario.ops) {
    hints.push(...source.run(op));
    lost ||= loses;
    if (flush) {
      if (!lost) producer.handleHints(hints);
      hints = [];
      lost = false;
    }
  }
  if (!lost) producer.handleHints(hints);
  producer.reconcileAll();
  return { source, partitions: producer.partitions };
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
    } else if (cursors[p]! < records.length) {
      replica.deliver(records[cursors[p]!++]!);
    }
  }
  for (let p = 0; p < partitions.length; p++) {
    while (cursors[p]! < partitions[p]!.length) replica.deliver(partitions[p]![cursors[p]!++]!);
  }
}

/** Kafka compaction: the latest record of each key, in log order; tombstones optionally gone too. */
function compact(records: MirrorEvent[], dropTombstones: boolean): MirrorEvent[] {
  const latest = new Map<string, number>();
  records.forEach((event, offset) => latest.set(event.path, offset));
  return records.filter((event, offset) => latest.get(event.path) === offset && !(dropTombstones && event.op === 'delete'));
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
    if (a !== b) lines.push(`${JSON.stringify(path)}: source ${a ?? 'missing'}, replica ${b ?? 'missing'}`);
  }
  return lines.join('\n');
}

function assertConverged(source: SourceTree, replica: ReplicaModel, what: string): void {
  const expected = source.snapshot();
  const actual = replica.snapshot();
  const diff = describeDiff(expected, actual);
  assert.equal(diff, '', `${what} differs from the source:\n${diff}\noperations:\n${source.history.join('\n')}`);
  assert.equal(replica.checkIndexMatchesFs(), undefined, `${what}: applied index and files disagree`);
}

test(`replicas converge to the source (${numRuns} cases, seed ${seed})`, () => {
  fc.assert(
    fc.property(scenarioArb, fc.boolean(), (scenario, dropTombstones) => {
      const { source, partitions } = produce(scenario);

      const live = new ReplicaModel();
      deliver(partitions, scenario.schedule, live);
      assertConverged(source, live, 'the live replica');

      const fresh = new ReplicaModel();
      deliver(partitions.map((records) => compact(records, dropTombstones)), [...scenario.schedule].reverse(), fresh);
      assertConverged(source, fresh, 'a replica built from the compacted log');
    }),
    { numRuns, seed, includeErrorInReport: true },
  );
});

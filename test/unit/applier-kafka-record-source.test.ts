// The record source's side of "one applier per replica", with a stand-in for the kafkajs
// consumer (the real one runs in test/integration/applier-one-per-replica.int.test.ts):
// an applier whose first assignment lacks partitions is a replica's second applier and
// leaves without ever committing; the first one keeps its place, and its heartbeat
// commits carry the note `status` reads.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { KafkaRecordSource } from '../../services/applier/adapters/kafka-record-source.ts';
import type { ApplyLane } from '../../services/applier/apply-lane.ts';
import { Positions } from '../../services/applier/positions.ts';
import { CliError } from '../../services/shared/errors.ts';
import { parseReplicaNote } from '../../services/shared/replica-note.ts';
import { waitFor } from '../helpers/wait.ts';

type Commit = { topic: string; partition: number; offset: string; metadata: string };

function fakeKafka() {
  const handlers = new Map<string, (event: unknown) => void>();
  const commits: Commit[][] = [];
  const calls = { run: 0 };
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: (name: string, handler: (event: unknown) => void) => handlers.set(name, handler),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => void (calls.run += 1),
    seek: () => undefined,
    disconnect: async () => undefined,
    commitOffsets: async (offsets: Commit[]) => void commits.push(offsets),
  };
  const join = (partitions: number[]) =>
    handlers.get('join')!({ payload: { memberId: 'm', memberAssignment: { t: partitions } } });
  const crash = (error: Error, restart = false) => handlers.get('crash')!({ payload: { error, restart } });
  return { kafka: { consumer: () => consumer } as unknown as Kafka, commits, join, crash, calls };
}

async function source(kafka: Kafka, fatal: Error[]) {
  const positions = new Positions();
  for (const partition of [0, 1, 2]) positions.init(partition, 5);
  const lane = { enqueue: () => undefined, waitForRoom: async () => undefined } as unknown as ApplyLane;
  const recordSource = new KafkaRecordSource({
    kafka,
    topic: 't',
    groupId: 'mirrorlog.replica.r1',
    replica: 'r1',
    partitions: 3,
    lane,
    positions,
    logger: pino({ level: 'silent' }),
    sessionTimeoutMs: 6000,
    onFatal: (error) => fatal.push(error),
  });
  await recordSource.start();
  return recordSource;
}

test('a first assignment lacking partitions: the second applier leaves with one line and never commits', async () => {
  const { kafka, commits, join } = fakeKafka();
  const fatal: Error[] = [];
  const recordSource = await source(kafka, fatal);
  join([1]);
  assert.equal(fatal.length, 1);
  assert.ok(fatal[0] instanceof CliError);
  assert.match(
    fatal[0].message,
    /^replica 'r1' already has a running applier \(consumer group mirrorlog\.replica\.r1: another member\)/,
  );
  recordSource.commit(
    new Map([
      [0, 0],
      [1, 0],
      [2, 0],
    ]),
  );
  recordSource.heartbeat(undefined);
  await recordSource.flushCommits(1000);
  assert.deepEqual(commits, [], "the group's offsets never move");
});

test('the sole member commits with a note, keeps its place when another joins, and heartbeats', async () => {
  const { kafka, commits, join } = fakeKafka();
  const fatal: Error[] = [];
  const recordSource = await source(kafka, fatal);
  join([0, 1, 2]);
  recordSource.commit(
    new Map([
      [0, 7],
      [1, 5],
      [2, 5],
    ]),
  );
  join([0, 2]); // a second applier came in: logged, this one stays
  assert.deepEqual(fatal, []);
  recordSource.heartbeat('partition 1: EACCES');
  await recordSource.flushCommits(1000);
  assert.equal(commits.length, 2);
  assert.deepEqual(
    commits[0]!.map((c) => [c.partition, c.offset]),
    [
      [0, '7'],
      [1, '5'],
      [2, '5'],
    ],
  );
  const first = parseReplicaNote(commits[0]![0]!.metadata)!;
  assert.ok(first.appliedAt !== undefined && first.aliveAt !== undefined && first.problem === undefined);
  const beat = parseReplicaNote(commits[1]![0]!.metadata)!;
  assert.equal(beat.problem, 'partition 1: EACCES');
  assert.equal(beat.appliedAt, first.appliedAt, 'a heartbeat is not progress');
});

// The errors kafkajs itself ends a consumer with (src/errors.js), not look-alikes.
const kafkajsErrors = createRequire(import.meta.url)('kafkajs/src/errors.js') as Record<
  string,
  new (message: string, properties?: object) => Error
>;

test('a consumer kafkajs gave up on while Kafka is unreachable runs again; refused credentials end it', async () => {
  const { kafka, crash, calls, join } = fakeKafka();
  const fatal: Error[] = [];
  const recordSource = await source(kafka, fatal);
  join([0, 1, 2]);
  assert.equal(calls.run, 1);
  crash(new kafkajsErrors.KafkaJSGroupCoordinatorNotFound!('Failed to find group coordinator'));
  await waitFor('the consumer to run again', () => (calls.run === 2 ? true : undefined), 10_000, 10);
  assert.deepEqual(fatal, [], 'an outage is not the end');
  crash(new kafkajsErrors.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
  await waitFor('the consumer to run a third time', () => (calls.run === 3 ? true : undefined), 10_000, 10);
  const refused = Object.assign(new kafkajsErrors.KafkaJSProtocolError!('not authorized'), {
    type: 'GROUP_AUTHORIZATION_FAILED',
  });
  crash(refused);
  assert.deepEqual(fatal, [refused]);
  await recordSource.stop(1000);
});

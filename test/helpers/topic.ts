// Reads a topic the way a new replica would: every record from the earliest offset up
// to the high watermarks taken at the start. Used to check what a producer published.
import { defer } from './cleanup.ts';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { decodeRecord } from '../../schemas/codec.ts';
import type { EntryState, MirrorEvent } from '../../schemas/event.ts';
import { kafka } from './stack.ts';

export async function readTopic(topic: string, brokers?: string[], timeoutMs = 30_000): Promise<MirrorEvent[]> {
  const client = kafka(`reader-${randomUUID()}`, brokers);
  const admin = client.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  const events: { partition: number; offset: bigint; event: MirrorEvent }[] = [];
  if (ends.size === 0) return [];
  const consumer = client.consumer({ groupId: `reader-${randomUUID()}`, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} timed out; partitions left: ${[...ends.keys()].join(',')}`)),
        timeoutMs,
      );
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const decoded = decodeRecord(message);
            if (!decoded.ok) throw decoded.error;
            events.push({ partition: batch.partition, offset: BigInt(message.offset), event: decoded.event });
            const end = ends.get(batch.partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) ends.delete(batch.partition);
          }
          if (ends.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return events.sort((a, b) => a.event.seq - b.event.seq).map((e) => e.event);
}

export type TopicFollower = { readonly events: MirrorEvent[]; state(): Map<string, EntryState> };

/** Consumes a topic from the beginning in the background for the rest of the test. */
export async function followTopic(t: TestContext, topic: string): Promise<TopicFollower> {
  const consumer = kafka(`follower-${randomUUID()}`).consumer({
    groupId: `follower-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  defer(t, () => consumer.disconnect());
  const events: MirrorEvent[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeRecord(message);
      if (!decoded.ok) throw decoded.error;
      events.push(decoded.event);
    },
  });
  return { events, state: () => stateFromEvents(events) };
}

/** The tree the log describes: the latest event per path, deletes dropped. */
export function stateFromEvents(events: readonly MirrorEvent[]): Map<string, EntryState> {
  const latest = new Map<string, MirrorEvent>();
  for (const event of events) {
    const previous = latest.get(event.path);
    if (previous === undefined || previous.seq < event.seq) latest.set(event.path, event);
  }
  const state = new Map<string, EntryState>();
  for (const [path, event] of latest) {
    if (event.op === 'file')
      state.set(path, { kind: 'file', size: event.size, mode: event.mode, mtimeMs: event.mtimeMs, hash: event.hash });
    else if (event.op === 'dir') state.set(path, { kind: 'dir', mode: event.mode });
    else if (event.op === 'symlink') state.set(path, { kind: 'symlink', target: event.target });
  }
  return state;
}

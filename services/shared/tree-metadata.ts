// Who reads and writes one mirrored tree, published beside its events topic so that a
// producer and its appliers can refuse to overlap (a replica inside its own source
// recurses forever; a replica equal to it deletes source files). The topic
// `<events topic>.meta` is compacted, keyed by member (`producer/<source>`,
// `applier/<replica>`), one JSON record per member: the latest one says where it runs.
// The producer creates it with the events topic; an applier only writes to it if it
// exists (appliers never create topics).
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { readTopicToEnd } from './topic-reader.ts';
import { createTopic } from './topic-admin.ts';

/** The one place the metadata topic's name is derived. */
export function treeMetadataTopic(eventsTopic: string): string {
  return `${eventsTopic}.meta`;
}

const absolute = z.string().refine((p) => path.isAbsolute(p), 'an absolute path');

/** The producer of the tree: the root it watches (real path) and its state directory. */
const producerMember = z.object({
  v: z.literal(1),
  role: z.literal('producer'),
  host: z.string().min(1),
  source: z.string().min(1),
  root: absolute,
  stateDir: absolute,
  /** ms epoch when the record was written. */
  at: z.number(),
});

/** One replica of the tree: the target it writes (real path) and its state directory. */
const applierMember = z.object({
  v: z.literal(1),
  role: z.literal('applier'),
  host: z.string().min(1),
  replica: z.string().min(1),
  target: absolute,
  stateDir: absolute,
  at: z.number(),
});

export const treeMemberSchema = z.discriminatedUnion('role', [producerMember, applierMember]);
export type TreeMember = z.infer<typeof treeMemberSchema>;
export type ProducerMember = z.infer<typeof producerMember>;
export type ApplierMember = z.infer<typeof applierMember>;

/** This machine's name as members record it (compared to tell "same host"). */
export function thisHost(): string {
  return os.hostname();
}

export function memberKey(member: TreeMember): string {
  return member.role === 'producer' ? `producer/${member.source}` : `applier/${member.replica}`;
}

export function encodeMember(member: TreeMember): { key: string; value: string } {
  return { key: memberKey(member), value: JSON.stringify(member) };
}

/** A record of the metadata topic, or undefined for a tombstone or a record this version cannot read. */
export function decodeMember(value: Buffer | string | null): TreeMember | undefined {
  if (value === null) return undefined;
  try {
    const parsed = treeMemberSchema.safeParse(JSON.parse(value.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export type Overlap = 'equal' | 'inside' | 'contains';

/** How directory `a` relates to directory `b` (both absolute, normalized): equal, inside b, containing b, or apart. */
export function overlapOf(a: string, b: string): Overlap | undefined {
  const x = path.resolve(a);
  const y = path.resolve(b);
  if (x === y) return 'equal';
  const within = (child: string, parent: string) =>
    child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
  if (within(x, y)) return 'inside';
  if (within(y, x)) return 'contains';
  return undefined;
}

/** One conflict found: which of `dir`'s role overlaps which directory of which member. */
export type MemberOverlap = { member: TreeMember; what: 'root' | 'target' | 'stateDir'; dir: string; overlap: Overlap };

/**
 * The directories of `members` on `host` that `dir` is equal to, inside or contains.
 * Members on other hosts are skipped: their paths name other filesystems.
 */
export function overlapsWith(dir: string, host: string, members: readonly TreeMember[]): MemberOverlap[] {
  const found: MemberOverlap[] = [];
  for (const member of members) {
    if (member.host !== host) continue;
    const dirs: [MemberOverlap['what'], string][] =
      member.role === 'producer'
        ? [['root', member.root]]
        : [
            ['target', member.target],
            ['stateDir', member.stateDir],
          ];
    for (const [what, other] of dirs) {
      const overlap = overlapOf(dir, other);
      if (overlap !== undefined) found.push({ member, what, dir: other, overlap });
    }
  }
  return found;
}

/** One line for an operator, e.g. "the target of replica 'r1' (/a/b) is inside it". */
export function describeOverlap({ member, what, dir, overlap }: MemberOverlap): string {
  const owner = member.role === 'producer' ? `source '${member.source}'` : `replica '${member.replica}'`;
  const name = what === 'stateDir' ? 'state directory' : what;
  const relation =
    overlap === 'equal' ? 'is the same directory' : overlap === 'inside' ? 'contains it' : 'is inside it';
  return `the ${name} of ${owner} on ${member.host} (${dir}) ${relation}`;
}

export const METADATA_TOPIC_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  // Tiny and rarely written: keep segments small so compaction can drop old records.
  { name: 'segment.ms', value: String(24 * 3600 * 1000) },
];

/** Creates the metadata topic unless it exists (the producer's job; appliers never create it). */
export async function ensureMetadataTopic(admin: Admin, eventsTopic: string): Promise<void> {
  const topic = treeMetadataTopic(eventsTopic);
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  await createTopic(admin, { topic, numPartitions: 1, replicationFactor: -1, configEntries: METADATA_TOPIC_CONFIG });
}

/** Whether the metadata topic exists (an applier writes its record only then). */
export async function metadataTopicExists(admin: Admin, eventsTopic: string): Promise<boolean> {
  return (await admin.listTopics()).includes(treeMetadataTopic(eventsTopic));
}

/** Writes (or replaces) one member's record. */
export async function publishMember(kafka: Kafka, eventsTopic: string, member: TreeMember): Promise<void> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({ topic: treeMetadataTopic(eventsTopic), acks: -1, messages: [encodeMember(member)] });
  } finally {
    await producer.disconnect();
  }
}

/** Every member's latest record (an empty list when the topic holds none). */
export async function readMembers(kafka: Kafka, eventsTopic: string): Promise<TreeMember[]> {
  const latest = new Map<string, TreeMember | undefined>();
  await readTopicToEnd(kafka, treeMetadataTopic(eventsTopic), {
    groupPrefix: 'mirrorlog.meta',
    onBatch: (messages: KafkaMessage[]) => {
      for (const message of messages) {
        const key = message.key?.toString();
        if (key !== undefined) latest.set(key, decodeMember(message.value));
      }
    },
  });
  return [...latest.values()].filter((member): member is TreeMember => member !== undefined);
}

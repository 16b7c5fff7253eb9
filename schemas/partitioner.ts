// Partitioning contract: partition = murmur2(parent directory) mod partitions, so every
// entry of one directory lands in one partition (a directory's changes are totally
// ordered) and one path always maps to one partition. murmur2 is Kafka's own
// (the Java client's Utils.murmur2), so clients in other languages can agree.
import { parentOf } from './rel-path.ts';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of the UTF-8 bytes, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest >= 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/** The partition of a path: its parent directory's hash, made positive as Kafka does. */
export function partitionOf(path: string, partitions: number): number {
  return (murmur2(encoder.encode(parentOf(path))) & 0x7fffffff) % partitions;
}

type PartitionerArgs = {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  message: { key?: Buffer | string | null };
};

/** A kafkajs `createPartitioner`: the record key is the path. */
export function directoryPartitioner() {
  return ({ partitionMetadata, message }: PartitionerArgs): number => {
    const key = message.key;
    if (key === null || key === undefined) throw new TypeError('mirrorlog records always have a path key');
    return partitionOf(typeof key === 'string' ? key : key.toString('utf8'), partitionMetadata.length);
  };
}

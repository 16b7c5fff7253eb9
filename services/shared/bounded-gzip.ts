// kafkajs's gzip codec inflates a fetched batch with no bound: a 0.5 MB batch of
// whitespace-padded events inflated to 500 MiB and an applier with 1 GiB was OOM-killed
// on every restart (issue 20, M1). This codec replaces it (for every client of the
// process) and stops inflating at MAX_DECOMPRESSED_BATCH_BYTES (zlib's maxOutputLength:
// checked while inflating, so nothing larger is ever allocated).
//
// A batch over the bound cannot be decoded, and an error would make the consumer fetch it
// again forever, pinning its partition. So it decodes as one stand-in record per offset it
// claims, carrying only the header OVERSIZED_BATCH_HEADER: the applier dead-letters those
// (schemas/codec.ts) and moves on. The batch header fields needed for that (record count,
// last offset delta) sit just before the compressed bytes in the fetch buffer kafkajs
// hands us (RecordBatch v2 layout); they are read from there.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { OVERSIZED_BATCH_HEADER } from '../../schemas/codec.ts';

/** Decompressed bytes one fetched batch may hold. Events are small; content travels through the store. */
export const MAX_DECOMPRESSED_BATCH_BYTES = 64 * 1024 * 1024;
/** More stand-in records than this for one batch is not a batch kafka wrote. */
const MAX_STANDINS = 1_000_000;

const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip) as (buffer: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** zigzag varint, as Kafka's record format encodes lengths and deltas. */
function varint(value: number): number[] {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (zigzag >= 0x80) {
    bytes.push((zigzag % 0x80) | 0x80);
    zigzag = Math.floor(zigzag / 0x80);
  }
  bytes.push(zigzag);
  return bytes;
}

/** One record: no key, no value, one header saying the batch was over `limit`. */
function standIn(offsetDelta: number, limit: number): Buffer {
  const name = Buffer.from(OVERSIZED_BATCH_HEADER);
  const value = Buffer.from(String(limit));
  const body = Buffer.from([
    0, // attributes
    ...varint(0), // timestamp delta
    ...varint(offsetDelta),
    ...varint(-1), // key: null
    ...varint(-1), // value: null
    ...varint(1), // one header
    ...varint(name.length),
    ...name,
    ...varint(value.length),
    ...value,
  ]);
  return Buffer.concat([Buffer.from(varint(body.length)), body]);
}

/** The stand-in records for an oversized batch whose compressed records are `compressed`. */
export function standInRecords(compressed: Buffer, limit: number): Buffer {
  // RecordBatch v2: ... lastOffsetDelta(4) firstTimestamp(8) maxTimestamp(8) producerId(8)
  // producerEpoch(2) firstSequence(4) recordCount(4) | records
  if (compressed.byteOffset < 38) throw new Error('an oversized batch without its header in front');
  const header = new DataView(compressed.buffer, compressed.byteOffset - 38, 38);
  const lastOffsetDelta = header.getInt32(0);
  const count = header.getInt32(34);
  if (count <= 0 || count > MAX_STANDINS || lastOffsetDelta < count - 1)
    throw new Error(`an oversized batch claiming ${count} records over ${lastOffsetDelta + 1} offsets`);
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) records.push(standIn(i === count - 1 ? lastOffsetDelta : i, limit));
  return Buffer.concat(records);
}

export function boundedGzipCodec(limit = MAX_DECOMPRESSED_BATCH_BYTES) {
  return {
    async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
      return gzip(encoder.buffer);
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      try {
        return await unzip(buffer, { maxOutputLength: limit });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw error;
        return standInRecords(buffer, limit);
      }
    },
  };
}

let installed = false;

/** Replaces kafkajs's gzip codec by the bounded one (process-wide, once). */
export function installBoundedGzip(): void {
  if (installed) return;
  installed = true;
  const codec = boundedGzipCodec();
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.GZIP] = () => codec;
}

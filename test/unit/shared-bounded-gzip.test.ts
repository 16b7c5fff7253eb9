// The bounded gzip codec (M1): a gzip bomb batch never inflates beyond the bound; it decodes,
// through kafkajs's own record-batch decoder, as one stand-in record per offset, which the
// codec turns into `too-large` dead letters. Batches are built with kafkajs's own encoder.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { decodeRecord, MAX_EVENT_VALUE_BYTES } from '../../schemas/codec.ts';
import { boundedGzipCodec } from '../../services/shared/bounded-gzip.ts';

const require = createRequire(import.meta.url);
type Encoder = { buffer: Buffer };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: object) => Promise<Encoder>;
};
const Long = require('kafkajs/src/utils/long') as { fromInt(n: number): unknown };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: object) => Encoder;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{
  records: { offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }[];
}>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

const LIMIT = 1024 * 1024;
const GZIP = kafkajs.CompressionTypes.GZIP;
let original: () => unknown;

async function batchOf(values: Buffer[], firstOffset = 100): Promise<Buffer> {
  const records = values.map((value, i) => Record({ offsetDelta: i, key: Buffer.from(`k${i}`), value, headers: {} }));
  const encoded = await RecordBatch({
    compression: GZIP,
    firstOffset: Long.fromInt(firstOffset),
    lastOffsetDelta: values.length - 1,
    records,
  });
  // As a fetch response hands it over: inside a larger buffer, at some offset.
  return Buffer.concat([Buffer.alloc(123), encoded.buffer]).subarray(123);
}

describe('bounded gzip codec', () => {
  before(() => {
    original = kafkajs.CompressionCodecs[GZIP] as () => unknown;
    const codec = boundedGzipCodec(LIMIT);
    kafkajs.CompressionCodecs[GZIP] = () => codec;
  });
  after(() => {
    kafkajs.CompressionCodecs[GZIP] = original as (typeof kafkajs.CompressionCodecs)[typeof GZIP];
  });

  it('decodes a batch within the bound as it is', async () => {
    const batch = await decodeBatch(new Decoder(await batchOf([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')])));
    assert.deepEqual(
      batch.records.map((r) => r.value?.toString()),
      ['{"a":1}', '{"b":2}'],
    );
  });

  it('turns a gzip bomb into stand-in records, one per offset, dead-lettered as too-large', async () => {
    // 2 MiB inflated, a few KiB compressed
    const padded = Array.from({ length: 20 }, () => Buffer.alloc(100 * 1024, ' '));
    const buffer = await batchOf(padded);
    assert.ok(buffer.length < 64 * 1024, `compressed to ${buffer.length} bytes`);
    const batch = await decodeBatch(new Decoder(buffer));
    assert.equal(batch.records.length, 20);
    assert.deepEqual(
      batch.records.map((r) => Number(r.offset) - 100),
      [...Array(20).keys()],
    );
    for (const record of batch.records) {
      assert.equal(record.value, null);
      const decoded = decodeRecord(record);
      assert.equal(decoded.ok, false);
      assert.equal(!decoded.ok && decoded.error.code, 'too-large');
      assert.equal(!decoded.ok && decoded.error.field, 'batch');
    }
  });

  it('refuses a single event value over the bound before parsing it', () => {
    const decoded = decodeRecord({ key: 'a', value: Buffer.alloc(MAX_EVENT_VALUE_BYTES + 1, ' '), headers: {} });
    assert.equal(!decoded.ok && decoded.error.code, 'too-large');
    assert.equal(!decoded.ok && decoded.error.field, 'value');
  });
});

// Apply rate of the applier's lane alone (SQLite index, real filesystem, content in
// memory): `node --import tsx test/bench/applier-apply-rate.ts [files] [durability] [writes in flight]`.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MirrorEvent } from '../../schemas/event.ts';
import { partitionOf } from '../../schemas/partitioner.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { SqliteAppliedIndex } from '../../services/applier/adapters/sqlite-applied-index.ts';
import type { DurabilityMode } from '../../services/applier/durability.ts';
import { makeLaneHarness, sha256 } from '../helpers/applier-lane-harness.ts';

const files = Number(process.argv[2] ?? 20_000);
const durability = (process.argv[3] ?? 'syncfs') as DurabilityMode;
const maxWritesInFlight = Number(process.argv[4] ?? 64);
const PARTITIONS = 12;
const DIRS = Math.max(1, Math.floor(files / 100));

const h = makeLaneHarness({
  index: (dir) => new SqliteAppliedIndex(join(dir, 'index.sqlite')),
  durability,
  partitions: PARTITIONS,
  commitIntervalMs: 1000,
  maxWritesInFlight,
});
let seq = 1;
const byPartition: MirrorEvent[][] = Array.from({ length: PARTITIONS }, () => []);
for (let d = 0; d < DIRS; d++)
  byPartition[partitionOf(`d${d}`, PARTITIONS)]!.push({
    source: 's',
    seq: seq++,
    ts: Date.now(),
    op: 'dir',
    path: relPath(`d${d}`),
    mode: 0o755,
  });
for (let i = 0; i < files; i++) {
  const data = randomBytes(200 + Math.floor(Math.random() * 4000));
  const hash = sha256(data);
  await h.store.putBuffer(hash, data);
  const path = `d${i % DIRS}/f${i}.html`;
  byPartition[partitionOf(path, PARTITIONS)]!.push({
    source: 's',
    seq: seq++,
    ts: Date.now(),
    op: 'file',
    path: relPath(path),
    size: data.length,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + i,
    hash,
  });
}
const started = performance.now();
for (let p = 0; p < PARTITIONS; p++) {
  const events = byPartition[p]!;
  for (let i = 0; i < events.length; i += 2000) h.push(p, events.slice(i, i + 2000));
}
await h.settle(600_000);
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    files,
    dirs: DIRS,
    durability,
    maxWritesInFlight,
    seconds: Number(seconds.toFixed(2)),
    filesPerSecond: Math.round(files / seconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
await h.close();

// Run as an unprivileged user by test/unit/producer-unreadable.test.ts: the real producer
// core on the local filesystem (memory index, store and log) starts on a tree holding a
// directory it may not list, and prints what it published and skipped.
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { ManualClock } from '../../services/shared/clock.ts';
import { ProducerHarness } from '../model/producer-harness.ts';

const root = process.argv[2]!;
const harness = new ProducerHarness(new NodeSourceTree(root), new ManualClock(Date.now()), { partitions: 1 });
await harness.start();
const values = (await harness.metrics.registry.getMetricsAsJSON()).find(
  (m) => m.name === 'mirrorlog_producer_unreadable_entries',
);
const paths = harness.partitions
  .flat()
  .map((event) => event.path)
  .sort();
process.stdout.write(`${JSON.stringify({ paths, unreadable: Number(values?.values[0]?.value ?? 0) })}\n`);
await harness.core.stop();

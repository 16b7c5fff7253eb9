// The producer's start-up walk alone, against an index that matches the tree: what a
// restart with no changes costs without node's start, Kafka or S3. Builds the bench's
// tree shape (100 files per leaf directory) once in DIR, indexes it, then times walks.
// `node --import tsx [--cpu-prof] test/bench/walk-probe.ts FILES DIR [walks]`
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { joinRel, relPath } from '../../schemas/rel-path.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { SqliteSourceIndex } from '../../services/producer/adapters/sqlite-source-index.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { Reconciler, START_TRIGGER } from '../../services/producer/reconciler.ts';
import { systemClock } from '../../services/shared/clock.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { planTree } from './tree-plan.ts';
import { writeTree } from './tree-writer.ts';

const files = Number(process.argv[2] ?? 100_000);
const dir = process.argv[3] ?? '/tmp/mirrorlog-walk-probe';
const walks = Number(process.argv[4] ?? 3);
const root = join(dir, `tree-${files}`);
const indexPath = join(dir, `index-${files}.db`);

if (!existsSync(indexPath)) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await writeTree(root, planTree({ files, seed: 1 }), () => undefined);
  const tree = new NodeSourceTree(root);
  const index = new SqliteSourceIndex(`${indexPath}.part`);
  let seq = 1;
  const pending = [''];
  while (pending.length > 0) {
    const at = pending.pop()!;
    const scan = tree.scan(at);
    if (scan.status !== 'ok') continue;
    index.transaction(() => {
      for (const { name, probe } of scan.entries) {
        const path = relPath(joinRel(at, name));
        if (probe.kind === 'file') {
          const { mode, fingerprint, mtimeMs, mtimeNs, owner } = probe;
          const state = {
            kind: 'file' as const,
            size: fingerprint.size,
            mode,
            mtimeMs,
            mtimeNs,
            owner,
            hash: '0'.repeat(64),
          };
          index.put(path, state, seq++, fingerprint);
        } else if (probe.kind === 'dir') {
          const { mode, fingerprint, mtimeMs, mtimeNs, owner } = probe;
          index.put(path, { kind: 'dir', mode, mtimeMs, mtimeNs, owner }, seq++, fingerprint);
          pending.push(path);
        }
      }
    });
  }
  index.close();
  renameSync(`${indexPath}.part`, indexPath);
  process.stdout.write(`built ${root} and ${indexPath}\n`);
}

const index = new SqliteSourceIndex(indexPath);
const tree = new NodeSourceTree(root);
let hinted = 0;
const reconciler = new Reconciler({
  tree,
  index,
  clock: systemClock,
  isExcluded: () => false,
  hint: () => void hinted++,
  metrics: createProducerMetrics(),
  logger: createLogger({ level: 'silent', name: 'walk-probe' }),
  rate: 1e9,
  roomForHints: async () => undefined,
});
for (let i = 0; i < walks; i++) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const stats = await reconciler.run(START_TRIGGER);
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `walk ${i + 1}: ${stats.entries} entries, ${stats.differences} differences, ` +
      `${stats.unchangedDirs} of ${stats.dirs} directories unchanged, ` +
      `${(performance.now() - started).toFixed(0)} ms, CPU user ${(used.user / 1000).toFixed(0)} ms ` +
      `system ${(used.system / 1000).toFixed(0)} ms\n`,
  );
}
process.stdout.write(`hinted ${hinted}\n`);
index.close();

// A Reconciler over a real tree and index for unit tests: hints and waits recorded, never slept.
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import type { SourceIndex } from '../../services/producer/ports/source-index.ts';
import type { SourceTree } from '../../services/producer/ports/source-tree.ts';
import { Reconciler } from '../../services/producer/reconciler.ts';
import { systemClock } from '../../services/shared/clock.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { defer } from './cleanup.ts';

export function reconcilerOn(t: Parameters<typeof defer>[0], tree: SourceTree, index: SourceIndex, rate = 1e9) {
  const hinted: string[] = [];
  const sleeps: number[] = [];
  const reconciler = new Reconciler({
    tree,
    clock: systemClock,
    index,
    isExcluded: () => false,
    hint: (p) => hinted.push(p),
    metrics: createProducerMetrics(),
    logger: createLogger({ level: 'silent', name: 'test' }),
    rate,
    roomForHints: async () => undefined,
    sleep: async (ms) => void sleeps.push(ms),
  });
  defer(t, () => reconciler.stop());
  return { reconciler, hinted, sleeps };
}

// Single-file latency: files written one at a time into the source, each timed from the
// moment the writer closed it to the moment the replica holds the identical bytes under
// its final name (seen by the replica watcher's notification and sha256 check). The next
// write waits for that arrival and for the minimum gap since the previous write.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nowMs, sleep, within } from './clock.ts';
import { ReplicaWatcher } from './replica-watcher.ts';
import { fileContent, sha256, type PlannedFile } from './tree-plan.ts';
import { writeClosed } from './tree-writer.ts';

export interface SingleWritesOptions {
  what: string;
  source: string;
  replica: string;
  /** Directory (relative) the files go into; created first and awaited on the replica with `warmup`. */
  dir: string;
  warmup: PlannedFile;
  files: readonly PlannedFile[];
  gapMs: number;
  /** Per file. */
  timeoutMs: number;
  abort?: () => string | undefined;
  onSample?: (done: number, latencyMs: number) => void;
}

export interface SingleWritesResult {
  samples: number[];
  /** Arrivals found by the slow sweep instead of a notification (coarse times). */
  viaSweep: number;
}

async function writeAndAwait(
  watcher: ReplicaWatcher,
  o: SingleWritesOptions,
  file: PlannedFile,
  timeoutMs: number,
): Promise<number> {
  const content = fileContent(file);
  const arrival = watcher.arrival({ path: file.path, size: file.size, hash: sha256(content) });
  const closedAt = writeClosed(join(o.source, file.path), content);
  let timer: NodeJS.Timeout | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        const reason = o.abort?.();
        if (reason !== undefined) reject(new Error(`${o.what}: waiting for ${file.path}: ${reason}`));
      }, 200);
    });
    const arrived = await within(Promise.race([arrival, aborted]), timeoutMs, () => {
      const detail = watcher.missing(1)[0] ?? file.path;
      return new Error(
        `${o.what}: ${detail} not on the replica ${(timeoutMs / 1000).toFixed(0)} s after it was written`,
      );
    });
    return arrived.at - closedAt;
  } finally {
    clearInterval(timer);
  }
}

export async function timeSingleWrites(o: SingleWritesOptions): Promise<SingleWritesResult> {
  mkdirSync(join(o.source, o.dir), { recursive: true });
  const watcher = new ReplicaWatcher(o.replica, { sweepMs: 1000 });
  try {
    await writeAndAwait(watcher, o, o.warmup, Math.max(o.timeoutMs, 60_000));
    const samples: number[] = [];
    let lastWriteAt = nowMs();
    for (const file of o.files) {
      await sleep(lastWriteAt + o.gapMs - nowMs());
      lastWriteAt = nowMs();
      const latency = await writeAndAwait(watcher, o, file, o.timeoutMs);
      samples.push(latency);
      o.onSample?.(samples.length, latency);
    }
    return { samples, viaSweep: watcher.viaCounts.sweep };
  } finally {
    watcher.close();
  }
}

// A burst: many new files across new directories, written as fast as one thread can
// (in a worker, so the main thread stays free to timestamp arrivals on the replica);
// timed from the first write until the last file is on the replica with identical bytes.
// Marked files of the burst are also timed one by one (latency under load).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BurstWorkerInput, BurstWorkerMessage } from './burst-worker.ts';
import { within } from './clock.ts';
import { ReplicaWatcher } from './replica-watcher.ts';
import { fileContent, sha256, type BurstFile, type BurstPlan, type PlannedFile } from './tree-plan.ts';
import { writeClosed } from './tree-writer.ts';
import { tsWorkerEntry } from './ts-worker.ts';

export interface BurstOptions {
  what: string;
  source: string;
  replica: string;
  plan: BurstPlan;
  /** Written into plan.root first and awaited, so the burst starts on a warm, idle pipeline. */
  sentinel: PlannedFile;
  stallMs: number;
  timeoutMs: number;
  abort?: () => string | undefined;
  /** The watcher, for progress output. */
  onStart?: (watcher: ReplicaWatcher) => void;
  /**
   * The plan's `staged` files (all below `target`) are written under `stagingDir` (outside
   * the tree, on its filesystem) before the burst; the directory is renamed to `target`
   * once the writer has written `afterFiles` files.
   */
  moveIn?: { stagingDir: string; target: string; afterFiles: number };
}

export interface BurstResult {
  files: number;
  /** First write started → last file on the replica. */
  ms: number;
  /** First write started → last file closed (how fast the writer went). */
  writeMs: number;
  /** Close → arrival of each marked file. */
  markedLatencies: number[];
  viaSweep: number;
}

/** Runs the writer (burst-worker.ts) on a worker thread; resolves with when it started and finished. */
function startWriter(
  input: BurstWorkerInput,
  onMarked: (index: number, closedAt: number) => void,
): Promise<{ startedAt: number; finishedAt: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(tsWorkerEntry(new URL('./burst-worker.ts', import.meta.url)), { workerData: input });
    worker.on('message', (message: BurstWorkerMessage) => {
      if (message.kind === 'marked') onMarked(message.index, message.closedAt);
      else resolve({ startedAt: message.startedAt, finishedAt: message.finishedAt });
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`burst writer exited with code ${code}`));
    });
  });
}

/** Writes the staged files where they wait to be moved in; the writer's move. */
function stageMoveIn(
  source: string,
  moveIn: NonNullable<BurstOptions['moveIn']>,
  files: readonly BurstFile[],
): NonNullable<BurstWorkerInput['move']> {
  for (const file of files) {
    if (file.staged !== true) continue;
    const path = join(moveIn.stagingDir, file.path.slice(moveIn.target.length));
    mkdirSync(dirname(path), { recursive: true });
    writeClosed(path, fileContent(file));
  }
  return { from: moveIn.stagingDir, to: join(source, moveIn.target), afterFiles: moveIn.afterFiles };
}

export async function runBurst(o: BurstOptions): Promise<BurstResult> {
  mkdirSync(join(o.source, o.plan.root), { recursive: true });
  const watcher = new ReplicaWatcher(o.replica, { sweepMs: 250 });
  try {
    const sentinel = fileContent(o.sentinel);
    const ready = watcher.arrival({ path: o.sentinel.path, size: o.sentinel.size, hash: sha256(sentinel) });
    writeClosed(join(o.source, o.sentinel.path), sentinel);
    await within(
      ready,
      60_000,
      () => new Error(`${o.what}: ${o.sentinel.path} (written before the burst) not on the replica after 60 s`),
    );

    const closedAt = new Map<number, number>();
    const arrivedAt = new Map<number, number>();
    for (const file of o.plan.files) {
      const expected = { path: file.path, size: file.size, hash: sha256(fileContent(file)) };
      if (file.marked) watcher.expect(expected, (arrival) => arrivedAt.set(file.index, arrival.at));
      else watcher.expect(expected);
    }
    const move = o.moveIn === undefined ? undefined : stageMoveIn(o.source, o.moveIn, o.plan.files);
    o.onStart?.(watcher);
    const files = o.plan.files.filter((file) => file.staged !== true);
    const written = startWriter({ root: o.source, files, move }, (index, at) => closedAt.set(index, at));
    const writer = await written;
    const lastAt = await watcher.whenAllArrived({
      what: o.what,
      stallMs: o.stallMs,
      timeoutMs: o.timeoutMs,
      abort: o.abort,
    });
    const markedLatencies = [...arrivedAt].map(([index, at]) => at - closedAt.get(index)!);
    return {
      files: o.plan.files.length,
      ms: lastAt - writer.startedAt,
      writeMs: writer.finishedAt - writer.startedAt,
      markedLatencies,
      viaSweep: watcher.viaCounts.sweep,
    };
  } finally {
    watcher.close();
  }
}

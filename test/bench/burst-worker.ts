// The burst writer, in a worker thread so that its synchronous writes never delay the main
// thread's handling of the replica's change notifications (which timestamps arrivals).
// Input (workerData): { root, files, move? }. Messages out: { kind: 'marked', index, closedAt }
// for each marked file, then { kind: 'done', startedAt, finishedAt }.
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { nowMs } from './clock.ts';
import type { BurstFile } from './tree-plan.ts';
import { writePlannedFile } from './tree-writer.ts';

export interface BurstWorkerInput {
  root: string;
  files: BurstFile[];
  /** A directory renamed into the tree once `afterFiles` files are written. */
  move?: { from: string; to: string; afterFiles: number };
}

export type BurstWorkerMessage =
  { kind: 'marked'; index: number; closedAt: number } | { kind: 'done'; startedAt: number; finishedAt: number };

function moveIn({ from, to }: { from: string; to: string }): void {
  mkdirSync(dirname(to), { recursive: true });
  renameSync(from, to);
}

const input = workerData as BurstWorkerInput;
const port = parentPort!;
const startedAt = nowMs();
const made = new Set<string>();
let toMove = input.move;
for (const [written, file] of input.files.entries()) {
  if (toMove !== undefined && written === toMove.afterFiles) {
    moveIn(toMove);
    toMove = undefined;
  }
  const dir = file.path.slice(0, file.path.lastIndexOf('/'));
  if (!made.has(dir)) {
    mkdirSync(join(input.root, dir), { recursive: true });
    made.add(dir);
  }
  const closedAt = writePlannedFile(input.root, file);
  if (file.marked) port.postMessage({ kind: 'marked', index: file.index, closedAt } satisfies BurstWorkerMessage);
}
if (toMove !== undefined) moveIn(toMove);
port.postMessage({ kind: 'done', startedAt, finishedAt: nowMs() } satisfies BurstWorkerMessage);

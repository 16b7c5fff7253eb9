// The burst writer, in a worker thread so that its synchronous writes never delay the main
// thread's handling of the replica's change notifications (which timestamps arrivals).
// Input (workerData): { root, files }. Messages out: { kind: 'marked', index, closedAt }
// for each marked file, then { kind: 'done', startedAt, finishedAt }.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { nowMs } from './clock.ts';
import type { BurstFile } from './tree-plan.ts';
import { writePlannedFile } from './tree-writer.ts';

export interface BurstWorkerInput {
  root: string;
  files: BurstFile[];
}

export type BurstWorkerMessage =
  { kind: 'marked'; index: number; closedAt: number } | { kind: 'done'; startedAt: number; finishedAt: number };

const input = workerData as BurstWorkerInput;
const port = parentPort!;
const startedAt = nowMs();
const made = new Set<string>();
for (const file of input.files) {
  const dir = file.path.slice(0, file.path.lastIndexOf('/'));
  if (!made.has(dir)) {
    mkdirSync(join(input.root, dir), { recursive: true });
    made.add(dir);
  }
  const closedAt = writePlannedFile(input.root, file);
  if (file.marked) port.postMessage({ kind: 'marked', index: file.index, closedAt } satisfies BurstWorkerMessage);
}
port.postMessage({ kind: 'done', startedAt, finishedAt: nowMs() } satisfies BurstWorkerMessage);

// Puts planned files on disk. Writes are synchronous and in place (open, write, close),
// as an ordinary application would; the time a file counts from is taken right after
// close() returns.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { nowMs } from './clock.ts';
import { fileContent, type PlannedFile, type TreePlan } from './tree-plan.ts';

/** Writes `data` to `path` and returns the time right after the file was closed. */
export function writeClosed(path: string, data: Buffer): number {
  const fd = openSync(path, 'w', 0o644);
  try {
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
  } finally {
    closeSync(fd);
  }
  return nowMs();
}

export function writePlannedFile(root: string, file: PlannedFile): number {
  return writeClosed(join(root, file.path), fileContent(file));
}

/** Writes the whole tree, yielding to the event loop every `chunk` files so progress can show. */
export async function writeTree(
  root: string,
  plan: TreePlan,
  onProgress: (written: number) => void,
  chunk = 2000,
): Promise<void> {
  mkdirSync(root, { recursive: true });
  for (const dir of plan.dirs()) mkdirSync(join(root, dir), { recursive: true });
  let written = 0;
  for (const file of plan) {
    writePlannedFile(root, file);
    written++;
    if (written % chunk === 0) {
      onProgress(written);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  onProgress(written);
}

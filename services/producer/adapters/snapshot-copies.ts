// Snapshot reads of files that would not hold still (M10): the bytes are read exactly
// once, and the hash is of what was read. A large file is copied to the staging
// directory (the state directory, never the tree) and uploaded from there.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ReadResult } from '../ports/source-tree.ts';
import { readUpTo, sha256, SMALL_FILE_BYTES } from './file-reads.ts';

const SNAPSHOT_PREFIX = '.snapshot-';

export class SnapshotCopies {
  private staged = 0;
  private readonly token = randomBytes(6).toString('hex');

  constructor(private readonly stagingDir: string | undefined) {}

  async take(fd: number, sizeHint: number): Promise<ReadResult> {
    if (sizeHint <= SMALL_FILE_BYTES) {
      // A copy of just the bytes read: the 8 MiB buffer is not kept alive by the queue.
      const data = Buffer.from(readUpTo(fd, SMALL_FILE_BYTES));
      return { status: 'ok', hash: sha256(data), size: data.length, content: { data } };
    }
    if (this.stagingDir === undefined) return { status: 'changed' };
    const copy = path.join(this.stagingDir, `${SNAPSHOT_PREFIX}${this.token}-${this.staged++}`);
    const out = fs.openSync(copy, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buffer, 0, buffer.length, size);
        if (n === 0) break;
        hash.update(buffer.subarray(0, n));
        fs.writeSync(out, buffer, 0, n);
        size += n;
      }
    } catch (error) {
      fs.rmSync(copy, { force: true });
      throw error;
    } finally {
      fs.closeSync(out);
    }
    return {
      status: 'ok',
      hash: hash.digest('hex'),
      size,
      content: { file: copy, release: () => fs.rmSync(copy, { force: true }) },
    };
  }
}

/** Removes snapshot copies a crashed run left in the staging directory. */
export function removeLeftoverSnapshots(stagingDir: string): number {
  let removed = 0;
  for (const name of fs.readdirSync(stagingDir)) {
    if (!name.startsWith(SNAPSHOT_PREFIX)) continue;
    fs.rmSync(path.join(stagingDir, name), { force: true });
    removed++;
  }
  return removed;
}

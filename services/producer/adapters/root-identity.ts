// The root's identity as the filesystem tells it, and the one recorded in the index when
// the index was made (see domain/delete-guard.ts for why it matters).
import fs from 'node:fs';
import path from 'node:path';
import { decodeIdentity, encodeIdentity, identityChange, type RootIdentity } from '../domain/delete-guard.ts';
import type { SourceIndex } from '../ports/source-index.ts';

export const ROOT_IDENTITY_KEY = 'rootIdentity';

/** The root's identity now, or undefined when it cannot be stat'ed (gone, or unreadable). */
export function readRootIdentity(root: string): RootIdentity | undefined {
  try {
    const stats = fs.statSync(root);
    const parent = fs.statSync(path.dirname(root));
    // A mount point: another device than its parent, or the filesystem's own root.
    const mountPoint = parent.dev !== stats.dev || parent.ino === stats.ino;
    const bornMs = Number.isFinite(stats.birthtimeMs) && stats.birthtimeMs > 0 ? stats.birthtimeMs : 0;
    return { dev: stats.dev, ino: stats.ino, mountPoint, bornMs };
  } catch {
    return undefined;
  }
}

/** The identity recorded in `index` (recorded now when there is none yet), compared with the root on demand. */
export class RecordedRootIdentity {
  private recorded: RootIdentity | undefined;

  constructor(
    private readonly index: Pick<SourceIndex, 'getMeta' | 'setMeta'>,
    private readonly root: string,
  ) {
    this.recorded = decodeIdentity(index.getMeta(ROOT_IDENTITY_KEY));
    if (this.recorded === undefined) this.accept();
  }

  /** Why the root is not the directory the index was made from, or undefined. */
  changed(): string | undefined {
    const now = readRootIdentity(this.root);
    if (now === undefined) return `the root ${this.root} cannot be read`;
    return this.recorded === undefined ? undefined : identityChange(this.recorded, now);
  }

  /** Records the root as it is now. */
  accept(): void {
    const now = readRootIdentity(this.root);
    if (now === undefined) return;
    this.recorded = now;
    this.index.setMeta(ROOT_IDENTITY_KEY, encodeIdentity(now));
  }
}

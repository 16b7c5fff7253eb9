// The mass-deletion guard's decisions. An empty source looks exactly like a deleted tree
// (an unmounted disk, a failed mount, `mv src src.old; mkdir src`), and publishing it
// would empty every replica within seconds. So deletes are held, not published, when the
// root is no longer the directory the index was made from, or when one walk or burst
// would delete more than --max-delete of the tree; the operator confirms a legitimate
// one with --confirm-deletes. Pure: the caller stats the root and counts the index.
import type { MaxDelete } from '../../../schemas/config.ts';

export { parseMaxDelete, type MaxDelete } from '../../../schemas/config.ts';

/** What identifies the root directory: stat fields, plus its birth time as a marker. */
export type RootIdentity = {
  dev: number;
  ino: number;
  /** Whether the root is a mount point (its device differs from its parent's). */
  mountPoint: boolean;
  /**
   * The root's birth time (statx btime, ms), 0 when the filesystem does not report one.
   * Filesystems reuse inode numbers: `rm -rf src; mkdir src` can get the same inode back,
   * never the same birth time.
   */
  bornMs: number;
};

export const DEFAULT_MAX_DELETE_PERCENT = 50;
export const DEFAULT_MAX_DELETE_COUNT = 10_000;
/**
 * The default never holds fewer deletes than this: in a tree of four files, deleting three
 * is an edit, not a wiped disk (the identity check still catches a replaced root).
 */
export const DEFAULT_MAX_DELETE_FLOOR = 100;

/** How many entries one walk or burst may delete in a tree of `treeEntries` (Infinity: no limit). */
export function deleteLimit(max: MaxDelete, treeEntries: number): number {
  switch (max.kind) {
    case 'off':
      return Number.POSITIVE_INFINITY;
    case 'count':
      return max.count;
    case 'percent':
      return Math.floor((treeEntries * max.percent) / 100);
    case 'default':
      return Math.min(
        DEFAULT_MAX_DELETE_COUNT,
        Math.max(DEFAULT_MAX_DELETE_FLOOR, Math.floor((treeEntries * DEFAULT_MAX_DELETE_PERCENT) / 100)),
      );
    default: {
      const unknown: never = max;
      throw new Error(`unknown max-delete ${JSON.stringify(unknown)}`);
    }
  }
}

/** Why `now` is not the root the index was made from, or undefined when it is. */
export function identityChange(recorded: RootIdentity, now: RootIdentity): string | undefined {
  const changes: string[] = [];
  if (recorded.dev !== now.dev) changes.push(`device ${recorded.dev} -> ${now.dev}`);
  if (recorded.ino !== now.ino) changes.push(`inode ${recorded.ino} -> ${now.ino}`);
  if (recorded.mountPoint !== now.mountPoint)
    changes.push(now.mountPoint ? 'it became a mount point' : 'it is no longer a mount point');
  // Only compared when both are known: some filesystems report no birth time.
  if (recorded.bornMs !== 0 && now.bornMs !== 0 && recorded.bornMs !== now.bornMs) changes.push('it was created anew');
  return changes.length === 0
    ? undefined
    : `the root is not the directory the index was made from (${changes.join(', ')})`;
}

export function encodeIdentity(identity: RootIdentity): string {
  return JSON.stringify(identity);
}

export function decodeIdentity(text: string | undefined): RootIdentity | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<RootIdentity>;
    if (typeof value.dev !== 'number' || typeof value.ino !== 'number' || typeof value.mountPoint !== 'boolean')
      return undefined;
    return {
      dev: value.dev,
      ino: value.ino,
      mountPoint: value.mountPoint,
      bornMs: typeof value.bornMs === 'number' ? value.bornMs : 0,
    };
  } catch {
    return undefined;
  }
}

export type DeleteJudgement = { verdict: 'publish' } | { verdict: 'hold'; reason: string };

export type DeleteSituation = {
  /** Index entries the held deletes would remove. */
  pendingEntries: number;
  /**
   * Entries deleted minus entries created by what was published in the current burst
   * window (negative when it grew): a directory renamed or a tree rewritten by churn
   * deletes as much as it creates, and leaves the replica as full as it was.
   */
  recentlyDeleted: number;
  /** Index entries before any of these deletes. */
  treeEntries: number;
  max: MaxDelete;
  /** From identityChange: set when the root is not the one the index was made from. */
  identityChanged: string | undefined;
  /** The operator confirmed the deletes of this start (--confirm-deletes). */
  confirmed: boolean;
};

/** Whether the held deletes may be published. */
export function judgeDeletes(situation: DeleteSituation): DeleteJudgement {
  const { pendingEntries, recentlyDeleted, treeEntries, max, identityChanged, confirmed } = situation;
  if (pendingEntries === 0 || confirmed || max.kind === 'off') return { verdict: 'publish' };
  if (identityChanged !== undefined) return { verdict: 'hold', reason: identityChanged };
  const limit = deleteLimit(max, treeEntries);
  const total = pendingEntries + recentlyDeleted;
  if (total > limit) {
    const share = treeEntries === 0 ? 100 : Math.round((Math.min(total, treeEntries) / treeEntries) * 100);
    return {
      verdict: 'hold',
      reason:
        `${total} of ${treeEntries} entries (${share}%) would be deleted at once, ` +
        `more than --max-delete allows (${limit})`,
    };
  }
  return { verdict: 'publish' };
}

/**
 * When held deletes are judged: never while a walk may still find more of them; while the
 * producer is still busy with what came with them (a renamed directory's new entries),
 * only once `maxWaitMs` passed; otherwise once they stopped arriving for `quietMs` (a
 * burst of watcher events is judged whole), or after `maxWaitMs` (a steady trickle is
 * judged in slices).
 */
export function dueForJudgement(
  at: { now: number; firstHeldAt: number; lastHeldAt: number; walking: boolean; busy?: boolean },
  quietMs: number,
  maxWaitMs: number,
): boolean {
  if (at.walking) return false;
  if (at.now - at.firstHeldAt >= maxWaitMs) return true;
  return at.busy !== true && at.now - at.lastHeldAt >= quietMs;
}

/** Entries deleted (positive) and created (negative) within the last `windowMs`: what a burst already did. */
export class DeleteWindow {
  private slots: { at: number; count: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(at: number, count: number): void {
    if (count !== 0) this.slots.push({ at, count });
  }

  total(now: number): number {
    this.slots = this.slots.filter((slot) => now - slot.at < this.windowMs);
    return this.slots.reduce((sum, slot) => sum + slot.count, 0);
  }
}

/**
 * Of the paths of held deletes, the ones not below another held path (a directory's
 * delete already covers what is under it): counting only these counts each entry once.
 */
export function outermostPaths(paths: Iterable<string>): string[] {
  const sorted = [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const kept: string[] = [];
  // An ancestor sorts before its descendants, so it is already kept (and `kept` stays sorted).
  for (const candidate of sorted) if (!isBelowAny(candidate, kept)) kept.push(candidate);
  return kept;
}

function isBelowAny(candidate: string, kept: readonly string[]): boolean {
  let slash = candidate.indexOf('/');
  while (slash >= 0) {
    if (binaryHas(kept, candidate.slice(0, slash))) return true;
    slash = candidate.indexOf('/', slash + 1);
  }
  return false;
}

function binaryHas(sorted: readonly string[], wanted: string): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = sorted[middle]!;
    if (value === wanted) return true;
    if (value < wanted) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

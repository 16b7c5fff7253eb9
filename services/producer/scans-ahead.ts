// The walk's next directories, scanned ahead on libuv's pool while the main thread
// compares the current one with the index: the syscalls and the comparison then use both
// cores (on one thread a restart at 1M files took 1.17× rsync's no-change pass).
import type { Scan, SourceTree } from './ports/source-tree.ts';

/** Directories scanning at once: enough to keep the pool's threads busy, a few KB each. */
export const SCANS_AHEAD = 8;

export class ScansAhead {
  private readonly scanning = new Map<string, Promise<Scan>>();

  constructor(
    private readonly tree: Pick<SourceTree, 'scanAsync'>,
    /** The walk's stack: the next directory is the last one. */
    private readonly pending: readonly string[],
    private readonly limit = SCANS_AHEAD,
  ) {}

  /** The scan of `dir`: started ahead, or now. */
  take(dir: string): Promise<Scan> {
    const started = this.scanning.get(dir);
    if (started === undefined) return this.tree.scanAsync(dir);
    this.scanning.delete(dir);
    return started;
  }

  /**
   * Starts the scans of the `limit` directories next on the stack. Those started earlier
   * and pushed down since by subdirectories wait in the map (at most `limit` per level).
   */
  refill(): void {
    for (let i = this.pending.length - 1; i >= Math.max(0, this.pending.length - this.limit); i--) {
      const dir = this.pending[i]!;
      if (!this.scanning.has(dir)) this.scanning.set(dir, this.tree.scanAsync(dir));
    }
  }

  /** The walk ended early: what was scanned ahead is not wanted (nor its failure). */
  abandon(): void {
    for (const scan of this.scanning.values()) scan.catch(() => undefined);
    this.scanning.clear();
  }
}

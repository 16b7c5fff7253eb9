// The dependency rule of parallel apply: a file write may still be in flight (on libuv's
// pool) while later records are decided and applied. A decision whose steps touch a path
// with a write in flight, one of its ancestors or one of its descendants waits until that
// write is done; steps on unrelated paths (a sibling in the same directory, another
// directory) go on at once. Reading the index never waits: it already holds what the
// write in flight will leave on disk.
import type { Step } from './plan.ts';

export class PendingPaths {
  /** Paths with writes in flight (a path has at most one: a second one would wait). */
  private readonly paths = new Set<string>();
  /** For each directory above a path in flight, how many paths in flight are below it. */
  private readonly below = new Map<string, number>();

  get size(): number {
    return this.paths.size;
  }

  add(path: string): void {
    if (this.paths.has(path)) throw new Error(`a write to ${JSON.stringify(path)} is already in flight`);
    this.paths.add(path);
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
      const dir = path.slice(0, slash);
      this.below.set(dir, (this.below.get(dir) ?? 0) + 1);
    }
    this.below.set('', (this.below.get('') ?? 0) + 1);
  }

  delete(path: string): void {
    if (!this.paths.delete(path)) return;
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1))
      this.release(path.slice(0, slash));
    this.release('');
  }

  /** Whether `path` has a write in flight on it, above it or below it. */
  touches(path: string): boolean {
    if (this.paths.size === 0) return false;
    if (this.paths.has(path) || this.below.has(path)) return true;
    for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1))
      if (this.paths.has(path.slice(0, slash))) return true;
    return false;
  }

  /** Whether a decision for an event on `path` must wait: the path or any of its steps touches one in flight. */
  blocks(path: string, steps: readonly Step[]): boolean {
    if (this.paths.size === 0) return false;
    if (this.touches(path)) return true;
    for (const step of steps) {
      if (step.path !== path && this.touches(step.path)) return true;
      if (step.op === 'link' && this.touches(step.from)) return true;
    }
    return false;
  }

  private release(dir: string): void {
    const count = this.below.get(dir)!;
    if (count <= 1) this.below.delete(dir);
    else this.below.set(dir, count - 1);
  }
}

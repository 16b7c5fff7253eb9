// An entry made or removed moves its directory's mtime, which the replica keeps too, so
// the directory is looked at again. Not at once: during a burst that would examine (and
// list) a directory once per file, and delay the files themselves. The directories
// touched are collected and hinted together, at most once per DELAY_MS each.
import { parentOf } from '../../schemas/rel-path.ts';
import type { Clock } from '../shared/clock.ts';

export const DIR_TIME_DELAY_MS = 500;

export class DirTimeHints {
  private readonly touched = new Set<string>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly hint: (dir: string) => void,
  ) {}

  /** `path` was created, removed or renamed (in or out). */
  entryChanged(path: string): void {
    const dir = parentOf(path);
    if (dir === '') return; // the target directory itself is the operator's
    this.touched.add(dir);
    this.cancel ??= this.clock.setTimeout(() => this.flush(), DIR_TIME_DELAY_MS);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.touched.clear();
  }

  private flush(): void {
    this.cancel = undefined;
    for (const dir of this.touched) this.hint(dir);
    this.touched.clear();
  }
}

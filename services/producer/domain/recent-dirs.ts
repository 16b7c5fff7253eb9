// The directories changes were last reported in, most recent first, a bounded number. An
// event queue overflow loses a busy moment's events, and they are mostly in the
// directories busy just before it: the walk that follows compares those first, then the
// whole tree (only the whole tree is sure to hold every loss).
import { parentOf } from '../../../schemas/rel-path.ts';

export const RECENT_DIRS = 1024;

export class RecentDirs {
  private readonly dirs = new Set<string>();

  constructor(private readonly limit = RECENT_DIRS) {}

  /** A change was reported at `path`: its directory is recent. */
  note(path: string): void {
    const dir = parentOf(path);
    this.dirs.delete(dir);
    this.dirs.add(dir);
    if (this.dirs.size > this.limit) this.dirs.delete(this.dirs.values().next().value!);
  }

  /** The recent directories, most recent first; forgotten once taken. */
  take(): string[] {
    const dirs = [...this.dirs].reverse();
    this.dirs.clear();
    return dirs;
  }
}

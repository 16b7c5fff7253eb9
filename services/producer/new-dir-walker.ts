// The contents of directories new to the index (a moved-in tree, a first start) are fed
// to the pipeline as it has room, one directory at a time: queueing a whole new tree of
// millions of files at once would hold them all in memory. Only the directories wait
// here; their names are read when their turn comes.
import path from 'node:path';
import { joinRel } from '../../schemas/rel-path.ts';
import { listDir } from './adapters/source-fs.ts';

export class NewDirectoryWalker {
  private readonly pending: string[] = [];
  private running = false;

  constructor(
    private readonly root: string,
    private readonly hint: (path: string) => void,
    private readonly roomForHints: () => Promise<void>,
    /** Called when the last pending directory was fed to the pipeline. */
    private readonly onDrained: () => void = () => {},
  ) {}

  /** Whether directories are still waiting to be fed (the pipeline is not idle then). */
  get busy(): boolean {
    return this.running || this.pending.length > 0;
  }

  add(dir: string): void {
    this.pending.push(dir);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        await this.roomForHints();
        const dir = this.pending.shift()!;
        for (const { name } of listDir(path.join(this.root, dir))?.entries ?? []) this.hint(joinRel(dir, name));
      }
    } finally {
      this.running = false;
      this.onDrained();
    }
  }
}

// The kernel drops the events of directories outside the root itself. The filesystem mark
// reports every change on the filesystem, and each event of a busy directory elsewhere
// (another application's, or a replica's on the same disk) cost tens of µs to read and
// drop here: a 1M-file bootstrap on the source's disk took 190 s of the producer's CPU.
// An ignore mask on such a directory (FAN_MARK_IGNORE, Linux ≥ 6.0) keeps every event but
// moves away: a directory moved into the root is seen moving, and then every ignore mark
// is removed at once, before its subtree is listed, so nothing below it goes unreported.
import type { Logger } from '../../shared/logger.ts';
import type { WatchNative } from '../../shared/native/watch.ts';
import { FAN, handleFromKey } from './fanotify-events.ts';

/** Ignore marks at most (each pins a directory's inode in the kernel); then they start over. */
export const MAX_IGNORED = 10_000;
const FLAGS = FAN.MARK_ADD | FAN.MARK_IGNORE | FAN.MARK_IGNORED_SURV_MODIFY;
/** Everything the filesystem mark asks for but moves, on the directory and its children. */
export const IGNORE_MASK =
  FAN.CREATE | FAN.DELETE | FAN.MODIFY | FAN.ATTRIB | FAN.CLOSE_WRITE | FAN.ONDIR | FAN.EVENT_ON_CHILD;

export class OutsideIgnores {
  private marks = 0;
  private unavailable: string | undefined;

  constructor(
    private readonly native: WatchNative,
    private readonly fd: number,
    private readonly mountFd: number,
    /** The root's absolute path: its ancestors are never ignored (the root is their child). */
    private readonly root: string,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.marks;
  }

  /** Has the kernel drop the events of the directory `key` names (now at `abs`, outside the root). */
  ignore(key: string, abs: string): void {
    const below = abs.endsWith('/') ? abs : `${abs}/`;
    if (this.unavailable !== undefined || this.root === abs || this.root.startsWith(below)) return;
    if (this.marks >= MAX_IGNORED) this.clear();
    try {
      this.native.fanotifyIgnore(this.fd, this.mountFd, handleFromKey(key), FLAGS, IGNORE_MASK);
      this.marks++;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ESTALE' || code === 'ENOENT') return; // gone meanwhile
      this.unavailable = code === 'EINVAL' ? 'the kernel has no FAN_MARK_IGNORE (Linux < 6.0)' : String(error);
      this.logger.info(
        { reason: this.unavailable },
        'fanotify: events outside the root are dropped here, not by the kernel (costs CPU while other directories ' +
          'on the filesystem change)',
      );
    }
  }

  /** Removes every ignore mark (a directory came into the root from outside: it may hold some). */
  clear(): void {
    if (this.marks === 0) return;
    this.native.fanotifyFlushInodeMarks(this.fd);
    this.marks = 0;
  }
}

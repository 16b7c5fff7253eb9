// How the applier makes the replica durable before it commits (--durability):
//
//   syncfs (default)  one `sync -f <target>` (the syncfs(2) system call; Node has no
//                     binding) per durability point, i.e. every commitInterval (1 s):
//                     the kernel writes back everything of the target's filesystem in
//                     one go. Costs one flush per second instead of one per file; a
//                     power loss loses at most the last interval, which is then
//                     redelivered because its offsets were not committed. It syncs the
//                     whole filesystem, so on a filesystem shared with busy writers
//                     prefer fsync.
//   fsync             fsync(2) of every file before its rename, and of every changed
//                     directory at the durability point. Only what the applier wrote is
//                     flushed, but each file waits for the disk: much slower for small
//                     files (ms per file on most disks).
//   none              no flush at all: a power loss may leave committed offsets whose
//                     files never reached the disk (the replica then silently lacks
//                     them until a rebuild or a verify --repair). A process crash is
//                     still safe (the page cache survives it). For tests and for
//                     replicas that are rebuilt after any power loss anyway.
//
// In every mode the order is: filesystem durable, then the index commit, then the Kafka
// offset commit. So committed offsets ⊆ durable data, and the index is never ahead of
// the disk.
import { execFile } from 'node:child_process';
import type { DURABILITY_MODES } from '../../schemas/config.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';

export type DurabilityMode = (typeof DURABILITY_MODES)[number];

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 600_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
    });
  });
}

/** syncfs(2) through coreutils' `sync -f`; a plain `sync` (every filesystem) where -f is unknown. */
export async function syncFilesystem(path: string): Promise<void> {
  try {
    await run('sync', ['-f', path]);
  } catch (error) {
    try {
      await run('sync', []);
    } catch {
      throw error;
    }
  }
}

export function createDurability(mode: DurabilityMode, target: string, fs: FsMaterializer): () => Promise<void> {
  switch (mode) {
    case 'syncfs':
      return () => syncFilesystem(target);
    case 'fsync':
      return async () => fs.flushDirs();
    case 'none':
      return async () => undefined;
    default: {
      const unknown: never = mode;
      throw new TypeError(`unknown durability mode ${String(unknown)}`);
    }
  }
}

// The source tree on the local filesystem: what lstat says a path is, a directory's
// names, a file's bytes and sha256, and the watcher. Symlinks are never followed, and a
// file whose stat changes while it is read is reported as `changed` so it is retried,
// never published torn. Times are read as integer nanoseconds (bigint): a double of ms
// since the epoch cannot hold them, and truncating it put 1 file in ~4,000 1 ms off.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { MODE_MASK } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type {
  FileContent,
  LinkRead,
  Listing,
  ListedName,
  Probe,
  ReadOptions,
  ReadResult,
  SourceTree,
  TreeWatch,
  WatchOptions,
  WatchSink,
} from '../ports/source-tree.ts';
import type { WatcherChoice } from '../watch/source-watcher.ts';
import { openSourceWatcher } from '../watch/open-watcher.ts';
import { ParcelSourceWatcher } from '../watch/parcel-watcher.ts';
import type { SourceWatcher } from '../watch/source-watcher.ts';

/** Files up to this size are read whole (hash and upload the very same bytes); larger ones stream. */
export const SMALL_FILE_BYTES = 8 * 1024 * 1024;

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);
const NO_ACCESS = new Set(['EACCES', 'EPERM']);
const NS_PER_MS = 1_000_000n;
const SNAPSHOT_PREFIX = '.snapshot-';

/** The ms double Node's non-bigint Stats computes (so fingerprints stay comparable with older indexes). */
function msDouble(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

/** Whole milliseconds since the epoch, floored exactly (what an event's mtimeMs carries). */
export function floorMs(ns: bigint): number {
  const ms = ns / NS_PER_MS;
  return Number(ns < 0n && ms * NS_PER_MS !== ns ? ms - 1n : ms);
}

function fingerprintOf(stats: fs.BigIntStats): Fingerprint {
  return {
    ino: Number(stats.ino),
    size: Number(stats.size),
    mtimeMs: msDouble(stats.mtimeNs),
    ctimeMs: msDouble(stats.ctimeNs),
  };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

export function probeStats(stats: fs.BigIntStats): Probe {
  const mode = Number(stats.mode) & MODE_MASK;
  if (stats.isFile()) return { kind: 'file', mode, fingerprint: fingerprintOf(stats), mtimeMs: floorMs(stats.mtimeNs) };
  if (stats.isDirectory()) return { kind: 'dir', mode, fingerprint: fingerprintOf(stats) };
  if (stats.isSymbolicLink()) return { kind: 'symlink' };
  return { kind: 'special' };
}

const silentLogger = pino({ level: 'silent' });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class NodeSourceTree implements SourceTree {
  private readonly prefix: string;
  private staged = 0;
  private readonly token = randomBytes(6).toString('hex');
  /** Watches each directory before it is listed (one walk places the watches: see watch/). */
  private watcher: SourceWatcher | undefined;

  constructor(
    readonly root: string,
    /** Where snapshot copies of large files wait for their upload (the state directory, never the tree). */
    private readonly stagingDir?: string,
    private readonly watcherChoice: WatcherChoice = 'auto',
    /** Wall-clock ms for the watcher (injected: tests hold time still). */
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = root.endsWith(path.sep) ? root : root + path.sep;
  }

  abs(relPath: string): string {
    return relPath === '' ? this.root : this.prefix + relPath;
  }

  lstat(relPath: string): Probe {
    let stats: fs.BigIntStats | undefined;
    try {
      stats = fs.lstatSync(this.abs(relPath), { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { kind: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { kind: 'unreadable', code: codeOf(error) };
      throw error;
    }
    return stats === undefined ? { kind: 'missing' } : probeStats(stats);
  }

  readlink(relPath: string): LinkRead {
    let raw: Buffer;
    try {
      raw = fs.readlinkSync(this.abs(relPath), { encoding: 'buffer' });
    } catch {
      return { status: 'missing' };
    }
    try {
      return { status: 'ok', target: strictUtf8.decode(raw) };
    } catch {
      return { status: 'not-utf8' };
    }
  }

  readdir(relDir: string): Listing {
    this.watcher?.beforeListing(relDir);
    const abs = this.abs(relDir);
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(abs, { withFileTypes: true });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { status: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { status: 'unreadable', code: codeOf(error) };
      throw error;
    }
    if (!dirents.some((d) => d.name.includes('\uFFFD'))) {
      return { status: 'ok', entries: dirents.map((d) => ({ name: d.name, kind: kindOf(d) })), notUtf8: 0 };
    }
    // Node decodes invalid bytes as U+FFFD; a name that really contains U+FFFD is valid.
    let raw: fs.Dirent<Buffer>[];
    try {
      raw = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { status: 'missing' };
      throw error;
    }
    const entries: ListedName[] = [];
    for (const dirent of raw) {
      try {
        entries.push({ name: strictUtf8.decode(dirent.name), kind: kindOf(dirent) });
      } catch {
        // not UTF-8: counted below
      }
    }
    return { status: 'ok', entries, notUtf8: raw.length - entries.length };
  }

  /**
   * Small files come back with their bytes (uploaded as read, so what is stored is what was
   * hashed). `changed` when the file is not at rest, unless a snapshot is asked for: then
   * the bytes are read (large files copied to the staging directory) exactly once, and the
   * hash is of that copy.
   */
  async readFile(relPath: string, expected: Fingerprint, options: ReadOptions = {}): Promise<ReadResult> {
    let fd: number;
    try {
      fd = fs.openSync(this.abs(relPath), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (error) {
      // ELOOP: it became a symlink since lstat; the next examination sees what it is.
      if (NOT_THERE.has(codeOf(error)) || codeOf(error) === 'ELOOP') return { status: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { status: 'unreadable', code: codeOf(error) };
      throw error;
    }
    try {
      const atRest = () => sameFingerprint(fingerprintOf(fs.fstatSync(fd, { bigint: true })), expected);
      if (options.snapshot === true) return await this.snapshot(fd, expected.size);
      if (!atRest()) return { status: 'changed' };
      let hash: string;
      let content: FileContent;
      if (expected.size <= SMALL_FILE_BYTES) {
        const data = readUpTo(fd, expected.size + 1); // one byte more tells a file that grew
        if (data.length !== expected.size) return { status: 'changed' };
        hash = sha256(data);
        content = { data };
      } else {
        hash = await hashStream(fd);
        content = { file: this.abs(relPath) };
      }
      if (!atRest()) return { status: 'changed' };
      return { status: 'ok', hash, size: expected.size, content };
    } finally {
      fs.closeSync(fd);
    }
  }

  watch(sink: WatchSink, options: WatchOptions): Promise<TreeWatch> {
    // Opened at once (not when started): the walk that runs meanwhile lists through it.
    const { watcher, reason } = openSourceWatcher(this.watcherChoice, {
      root: this.root,
      exclude: options.ignore,
      isExcluded: options.isExcluded,
      logger: options.logger ?? silentLogger,
      events: {
        onHints: (hints) => sink.onHints(hints),
        onOverflow: (why) => sink.onOverflow(why),
        onError: (e) => sink.onError(e),
      },
    });
    this.watcher = watcher;
    const watch: TreeWatch = {
      backend: watcher.backend,
      reason,
      watchSubtree: async (dir, changedAtMs) => {
        // Only @parcel/watcher needs subscriptions below new directories; the others watch them all.
        if (watcher instanceof ParcelSourceWatcher) return watcher.watchSubtree(dir, changedAtMs);
        watcher.newSubtree(dir, changedAtMs);
        return false;
      },
      // Backends drop what they held below a deleted directory themselves.
      forget: async () => undefined,
      get subscriptionCount() {
        return watcher.status().watched;
      },
      status: () => watcher.status(),
      stop: async () => {
        this.watcher = undefined;
        await watcher.stop();
      },
    };
    return watcher.start().then(() => watch);
  }

  private async snapshot(fd: number, sizeHint: number): Promise<ReadResult> {
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

function readUpTo(fd: number, limit: number): Buffer {
  const buffer = Buffer.allocUnsafe(limit);
  let length = 0;
  while (length < limit) {
    const n = fs.readSync(fd, buffer, length, limit - length, length);
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function kindOf(dirent: fs.Dirent | fs.Dirent<Buffer>): ListedName['kind'] {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  return dirent.isSymbolicLink() ? 'symlink' : 'special';
}

async function hashStream(fd: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream('', { fd, autoClose: false, start: 0, highWaterMark: 1024 * 1024 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

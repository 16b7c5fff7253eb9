// The source tree on the local filesystem: what lstat says a path is, a directory's
// names, a file's bytes and sha256, and the watcher. Symlinks are never followed, and a
// file whose stat changes while it is read is reported as `changed` so it is retried,
// never published torn. Times are read as integer nanoseconds (stat-probe.ts).
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { fsPath, hasEscapedBytes, nameFromBytes } from '../../../schemas/name-bytes.ts';
import { readAttributesAt } from '../../shared/attribute-io.ts';
import type { AttributeScope } from '../../shared/attributes.ts';
import { sameFingerprint, type Fingerprint } from '../domain/diff.ts';
import type {
  AttributeRead,
  FileContent,
  LinkRead,
  Listing,
  ListedName,
  Probe,
  ReadOptions,
  ReadResult,
  Scan,
  SourceTree,
  TreeWatch,
  WatchOptions,
  WatchSink,
} from '../ports/source-tree.ts';
import type { WatcherChoice } from '../watch/source-watcher.ts';
import { openSourceWatcher } from '../watch/open-watcher.ts';
import { ParcelSourceWatcher } from '../watch/parcel-watcher.ts';
import type { SourceWatcher } from '../watch/source-watcher.ts';
import { loadWatchNative, type ScanResult, type WatchNative } from '../../shared/native/watch.ts';
import { joinRel } from '../../../schemas/rel-path.ts';
import { scannedNames, scannedProbe } from './native-scan.ts';
import { scanByLstat } from './scan-by-lstat.ts';
import { hashStream, readUpTo, sha256, SMALL_FILE_BYTES } from './file-reads.ts';
import { SnapshotCopies } from './snapshot-copies.ts';
import { fingerprintOf, probeStats } from './stat-probe.ts';

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);
const NO_ACCESS = new Set(['EACCES', 'EPERM']);

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

const silentLogger = pino({ level: 'silent' });

let scanner: WatchNative | null | undefined;

/** The addon's scan; null where it is not built (the portable watcher's machines): lstat then. */
function nativeScanner(): WatchNative | null {
  if (scanner === undefined) {
    try {
      scanner = loadWatchNative();
    } catch {
      scanner = null;
    }
  }
  return scanner;
}

export class NodeSourceTree implements SourceTree {
  private readonly prefix: string;
  private readonly snapshots: SnapshotCopies;
  /** Watches each directory before it is listed (one walk places the watches: see watch/). */
  private watcher: SourceWatcher | undefined;

  constructor(
    readonly root: string,
    /** Where snapshot copies of large files wait for their upload (the state directory, never the tree). */
    stagingDir?: string,
    private readonly watcherChoice: WatcherChoice = 'auto',
    /** Wall-clock ms for the watcher (injected: tests hold time still). */
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = root.endsWith(path.sep) ? root : root + path.sep;
    this.snapshots = new SnapshotCopies(stagingDir);
  }

  abs(relPath: string): string {
    return relPath === '' ? this.root : this.prefix + relPath;
  }

  /** The path for Node's fs: escaped bytes as the bytes they stand for. */
  private native(relPath: string): string | Buffer {
    return fsPath(this.abs(relPath));
  }

  lstat(relPath: string): Probe {
    let stats: fs.BigIntStats | undefined;
    try {
      stats = fs.lstatSync(this.native(relPath), { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { kind: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { kind: 'unreadable', code: codeOf(error) };
      throw error;
    }
    return stats === undefined ? { kind: 'missing' } : probeStats(stats);
  }

  readAttributes(relPath: string, scope: AttributeScope): AttributeRead | undefined {
    try {
      return readAttributesAt(this.abs(relPath), scope);
    } catch (error) {
      if (NO_ACCESS.has(codeOf(error))) return undefined;
      throw error;
    }
  }

  readlink(relPath: string): LinkRead {
    let raw: Buffer;
    try {
      raw = fs.readlinkSync(this.native(relPath), { encoding: 'buffer' });
    } catch {
      return { status: 'missing' };
    }
    return { status: 'ok', target: nameFromBytes(raw) };
  }

  readdir(relDir: string): Listing {
    this.watcher?.beforeListing(relDir);
    const abs = this.native(relDir);
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(abs, { withFileTypes: true });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { status: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { status: 'unreadable', code: codeOf(error) };
      throw error;
    }
    if (!dirents.some((d) => d.name.includes('\uFFFD') || hasEscapedBytes(d.name))) {
      return { status: 'ok', entries: dirents.map((d) => ({ name: d.name, kind: kindOf(d) })) };
    }
    // Node decodes invalid bytes as U+FFFD (a name may also really hold U+FFFD): the bytes tell.
    let raw: fs.Dirent<Buffer>[];
    try {
      raw = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (NOT_THERE.has(codeOf(error))) return { status: 'missing' };
      throw error;
    }
    const entries: ListedName[] = raw.map((dirent) => ({ name: nameFromBytes(dirent.name), kind: kindOf(dirent) }));
    return { status: 'ok', entries };
  }

  scan(relDir: string): Scan {
    const native = nativeScanner();
    if (native === null) return scanByLstat(this, relDir);
    this.watcher?.beforeListing(relDir);
    try {
      return this.scanned(relDir, native.scanDirectory(this.scanPath(relDir)));
    } catch (error) {
      return this.scanFailed(error);
    }
  }

  async scanAsync(relDir: string): Promise<Scan> {
    const native = nativeScanner();
    if (native === null) return scanByLstat(this, relDir);
    this.watcher?.beforeListing(relDir);
    try {
      return this.scanned(relDir, await native.scanDirectoryAsync(this.scanPath(relDir)));
    } catch (error) {
      return this.scanFailed(error);
    }
  }

  /** The root itself may be reached through a symlink: "." is followed, never a name below. */
  private scanPath(relDir: string): Buffer {
    return Buffer.from(this.native(relDir === '' ? '.' : relDir));
  }

  private scanned(relDir: string, result: ScanResult | null): Scan {
    if (result === null) return { status: 'missing' };
    const { stats } = result;
    const entries = scannedNames(result.names).map((name, i) => ({
      name,
      probe: scannedProbe(stats, i) ?? this.lstat(joinRel(relDir, name)),
    }));
    return { status: 'ok', entries };
  }

  private scanFailed(error: unknown): Scan {
    if (NOT_THERE.has(codeOf(error))) return { status: 'missing' };
    if (NO_ACCESS.has(codeOf(error))) return { status: 'unreadable', code: codeOf(error) };
    throw error;
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
      fd = fs.openSync(this.native(relPath), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (error) {
      // ELOOP: it became a symlink since lstat; the next examination sees what it is.
      if (NOT_THERE.has(codeOf(error)) || codeOf(error) === 'ELOOP') return { status: 'missing' };
      if (NO_ACCESS.has(codeOf(error))) return { status: 'unreadable', code: codeOf(error) };
      throw error;
    }
    try {
      const atRest = () => sameFingerprint(fingerprintOf(fs.fstatSync(fd, { bigint: true })), expected);
      if (options.snapshot === true) return await this.snapshots.take(fd, expected.size);
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
}

function kindOf(dirent: fs.Dirent | fs.Dirent<Buffer>): ListedName['kind'] {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  return dirent.isSymbolicLink() ? 'symlink' : 'special';
}

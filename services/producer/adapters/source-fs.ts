// Reading the source tree: what lstat says a path is, a directory's names, a file's
// bytes and sha256. Symlinks are never followed, and a file whose stat changes while it
// is read is reported as `changed` so it is retried, never published torn.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { MODE_MASK } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';

export type Probe =
  | { kind: 'missing' }
  /** fifo, socket, device: not mirrored. */
  | { kind: 'special' }
  | { kind: 'file'; mode: number; fingerprint: Fingerprint }
  /** ctimeMs: last change of the directory itself (created, renamed, an entry added or removed). */
  | { kind: 'dir'; mode: number; ctimeMs: number }
  | { kind: 'symlink' };

/** Files up to this size are read whole (hash and upload the very same bytes); larger ones stream. */
export const SMALL_FILE_BYTES = 8 * 1024 * 1024;

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);

function fingerprintOf(stats: fs.Stats): Fingerprint {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function probe(abs: string): Probe {
  let stats: fs.Stats | undefined;
  try {
    stats = fs.lstatSync(abs, { throwIfNoEntry: false });
  } catch (error) {
    if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) return { kind: 'missing' };
    throw error;
  }
  if (stats === undefined) return { kind: 'missing' };
  if (stats.isFile()) return { kind: 'file', mode: stats.mode & MODE_MASK, fingerprint: fingerprintOf(stats) };
  if (stats.isDirectory()) return { kind: 'dir', mode: stats.mode & MODE_MASK, ctimeMs: stats.ctimeMs };
  if (stats.isSymbolicLink()) return { kind: 'symlink' };
  return { kind: 'special' };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The link's target verbatim; `undefined` when it is gone or is not valid UTF-8. */
export function readLinkTarget(abs: string): string | undefined {
  try {
    return strictUtf8.decode(fs.readlinkSync(abs, { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
}

export type ListedName = { name: string; kind: 'file' | 'dir' | 'symlink' | 'special' };
export type Listing = { entries: ListedName[]; notUtf8: number };

/**
 * The names in a directory (and which are directories), or `undefined` if it is not a
 * directory any more. Names that are not valid UTF-8 cannot cross the wire losslessly:
 * they are left out and counted.
 */
export function listDir(abs: string): Listing | undefined {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(abs, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NOT_THERE.has(code)) return undefined;
    throw error;
  }
  if (!dirents.some((d) => d.name.includes('\uFFFD'))) {
    return { entries: dirents.map((d) => ({ name: d.name, kind: kindOf(d) })), notUtf8: 0 };
  }
  // Node decodes invalid bytes as U+FFFD; a name that really contains U+FFFD is valid.
  const raw = fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
  const entries: ListedName[] = [];
  for (const dirent of raw) {
    try {
      entries.push({ name: strictUtf8.decode(dirent.name), kind: kindOf(dirent) });
    } catch {
      // not UTF-8: counted below
    }
  }
  return { entries, notUtf8: raw.length - entries.length };
}

function kindOf(dirent: fs.Dirent | fs.Dirent<Buffer>): ListedName['kind'] {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  return dirent.isSymbolicLink() ? 'symlink' : 'special';
}

export type ReadResult = { status: 'ok'; hash: string; fingerprint: Fingerprint; data: Buffer | undefined } | { status: 'changed' } | { status: 'missing' };

function openNoFollow(abs: string): number | undefined {
  try {
    return fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // ELOOP: it became a symlink since lstat; the next examination sees what it is.
    if (NOT_THERE.has(code) || code === 'ELOOP') return undefined;
    throw error;
  }
}

/**
 * Reads and hashes a file that lstat described as `expected`. Small files come back with
 * their bytes (uploaded as read, so what is stored is what was hashed). `changed` when
 * the file is not at rest: its stat before or after the read differs from `expected`.
 */
export async function readFileContent(abs: string, expected: Fingerprint): Promise<ReadResult> {
  const fd = openNoFollow(abs);
  if (fd === undefined) return { status: 'missing' };
  try {
    if (!sameFingerprint(fingerprintOf(fs.fstatSync(fd)), expected)) return { status: 'changed' };
    let hash: string;
    let data: Buffer | undefined;
    if (expected.size <= SMALL_FILE_BYTES) {
      // One byte more than expected tells a file that grew after the fstat.
      const buffer = Buffer.allocUnsafe(expected.size + 1);
      let length = 0;
      for (;;) {
        const n = fs.readSync(fd, buffer, length, buffer.length - length, length);
        if (n === 0) break;
        length += n;
        if (length === buffer.length) break;
      }
      if (length !== expected.size) return { status: 'changed' };
      data = buffer.subarray(0, length);
      hash = createHash('sha256').update(data).digest('hex');
    } else {
      hash = await hashStream(fd);
    }
    if (!sameFingerprint(fingerprintOf(fs.fstatSync(fd)), expected)) return { status: 'changed' };
    return { status: 'ok', hash, fingerprint: expected, data };
  } finally {
    fs.closeSync(fd);
  }
}

async function hashStream(fd: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream('', { fd, autoClose: false, start: 0, highWaterMark: 1024 * 1024 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

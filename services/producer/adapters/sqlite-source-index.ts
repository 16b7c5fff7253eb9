// The producer's index: per path, what was last published (state + seq) and the stat
// fingerprint it was read with, plus the last seq issued. It is what lets a restart
// reconcile by one local walk instead of re-publishing the tree. SQLite (WAL) keeps it
// on disk; nothing here holds the whole index in memory.
import Database from 'better-sqlite3';
import type { EntryState } from '../../../schemas/event.ts';
import { parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { IndexedChild } from '../domain/dir-compare.ts';
import type { Fingerprint } from '../domain/diff.ts';
import { attributesFromText, attributesText } from '../../shared/attributes.ts';
import { addMissingColumns } from '../../shared/sqlite-columns.ts';
import { applyIndexWrites, type IndexedEntry, type IndexWrite, type SourceIndex } from '../ports/source-index.ts';

export type { IndexedEntry } from '../ports/source-index.ts';

type Row = {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number | null;
  size: number | null;
  mtime_ms: number | null;
  hash: string | null;
  target: string | null;
  seq: number;
  ino: number | null;
  fp_mtime_ms: number | null;
  fp_ctime_ms: number | null;
  uid: number | null;
  gid: number | null;
  mtime_ns: string | null;
  attrs: string | null;
  link: string | null;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  path TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  kind TEXT NOT NULL,
  mode INTEGER,
  size INTEGER,
  mtime_ms INTEGER,
  hash TEXT,
  target TEXT,
  seq INTEGER NOT NULL,
  ino INTEGER,
  fp_mtime_ms REAL,
  fp_ctime_ms REAL,
  uid INTEGER,
  gid INTEGER,
  mtime_ns TEXT,
  attrs TEXT,
  link TEXT
) WITHOUT ROWID;
`;

/** Added with record format 2 (owners, exact times); the covering index below needs the ids. */
const FORMAT_2_COLUMNS = { uid: 'INTEGER', gid: 'INTEGER', mtime_ns: 'TEXT' };
/** Added with record format 3: attributes (attributes.ts's text) and hard-link identities, NULL when none. */
const FORMAT_3_COLUMNS = { attrs: 'TEXT', link: 'TEXT' };

const INDEXES =
  `
-- Covers the reconcile's children query: a directory's rows are one range of this index,
-- read without a lookup into the table per row (the start-up walk runs it for every directory).
DROP INDEX IF EXISTS entries_by_parent;
CREATE INDEX IF NOT EXISTS entries_by_parent_3 ON entries(parent, path, kind, mode, size, mtime_ms, ` +
  `target, ino, fp_mtime_ms, fp_ctime_ms, uid, gid, attrs);
DROP INDEX IF EXISTS entries_children;
DROP INDEX IF EXISTS entries_parent;
CREATE INDEX IF NOT EXISTS entries_hash ON entries(hash) WHERE hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_link ON entries(link) WHERE link IS NOT NULL;
-- Directories and symlinks (about 1% of rows): counted from this in under a millisecond, where
-- a GROUP BY kind over every row held the start-up's main thread for 0.2-0.5 s at 1M entries.
CREATE INDEX IF NOT EXISTS entries_not_files ON entries(kind) WHERE kind <> 'file';
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- Per directory, the digest of the listing its children last matched (ports/source-index.ts),
-- forgotten by put() for the parent it writes under, and here for every deleted row, so that
-- also the deletions of an older producer (run on this index after a downgrade) are seen.
-- Such a producer's puts need no trigger: they follow source changes, and a changed child's
-- ctime never comes back, so the directory's next listing never has the old digest again.
-- An insert trigger would do as well, but cost 9 µs per written row (most of a put).
CREATE TABLE IF NOT EXISTS child_digests (dir TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS entries_delete_digests AFTER DELETE ON entries BEGIN
  DELETE FROM child_digests WHERE dir = OLD.parent;
  DELETE FROM child_digests WHERE dir = OLD.path;
END;
`;

const COLUMNS =
  'path, kind, mode, size, mtime_ms, hash, target, seq, ino, fp_mtime_ms, fp_ctime_ms, uid, gid, mtime_ns, attrs, link';

function ownerOf(uid: number | null, gid: number | null): { owner?: { uid: number; gid: number } } {
  return uid === null || gid === null ? {} : { owner: { uid, gid } };
}

function toEntry(row: Row): IndexedEntry {
  let state: EntryState;
  if (row.kind === 'file')
    state = { kind: 'file', size: row.size!, mode: row.mode!, mtimeMs: row.mtime_ms!, hash: row.hash! };
  else if (row.kind === 'dir') state = { kind: 'dir', mode: row.mode! };
  else state = { kind: 'symlink', target: row.target! };
  if (row.kind !== 'file' && row.mtime_ms !== null) state.mtimeMs = row.mtime_ms;
  if (row.mtime_ns !== null) state.mtimeNs = row.mtime_ns;
  Object.assign(state, ownerOf(row.uid, row.gid), attributesFromText(row.attrs));
  if (row.kind === 'file' && row.link !== null) Object.assign(state, { link: row.link });
  const fingerprint =
    row.ino === null
      ? undefined
      : { ino: row.ino, size: row.size ?? 0, mtimeMs: row.fp_mtime_ms!, ctimeMs: row.fp_ctime_ms! };
  return { path: row.path as RelPath, state, seq: row.seq, fingerprint };
}

export class SqliteSourceIndex implements SourceIndex {
  private readonly db: Database.Database;
  private readonly statements;
  /** Directories whose digest this transaction already forgot: a batch forgets each once. */
  private forgotten: Set<string> | undefined;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // A crash may lose the last transactions but never corrupts: lost entries are
    // found again by the reconcile at start and republished (idempotent downstream).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -16000');
    this.db.exec(SCHEMA);
    addMissingColumns(this.db, 'entries', { ...FORMAT_2_COLUMNS, ...FORMAT_3_COLUMNS });
    this.db.exec(INDEXES);
    this.statements = {
      get: this.db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM entries WHERE path = ?`),
      childSummaries: this.db
        .prepare<[string], unknown[]>(
          'SELECT path, kind, mode, size, mtime_ms, target, ino, fp_mtime_ms, fp_ctime_ms, uid, gid, attrs ' +
            'FROM entries INDEXED BY entries_by_parent_3 WHERE parent = ?',
        )
        .raw(true),
      below: this.db.prepare<[string, string], { path: string }>(
        'SELECT path FROM entries WHERE path > ? AND path < ?',
      ),
      all: this.db.prepare<[], { path: string }>('SELECT path FROM entries'),
      countBelow: this.db.prepare<[string, string], { n: number }>(
        'SELECT count(*) AS n FROM entries WHERE path > ? AND path < ?',
      ),
      countAll: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM entries'),
      hasHash: this.db.prepare<[string], { one: number }>('SELECT 1 AS one FROM entries WHERE hash = ? LIMIT 1'),
      linked: this.db.prepare<[string], { path: string }>('SELECT path FROM entries WHERE link = ?'),
      put: this.db.prepare(
        'INSERT OR REPLACE INTO entries ' +
          '(path, parent, kind, mode, size, mtime_ms, hash, target, seq, ino, fp_mtime_ms, fp_ctime_ms, uid, gid, ' +
          'mtime_ns, attrs, link)\n' +
          '         VALUES (@path, @parent, @kind, @mode, @size, @mtime_ms, @hash, @target, @seq, @ino, ' +
          '@fp_mtime_ms, @fp_ctime_ms, @uid, @gid, @mtime_ns, @attrs, @link)',
      ),
      remove: this.db.prepare<[string]>('DELETE FROM entries WHERE path = ?'),
      countNotFiles: this.db.prepare<[], { kind: string; n: number }>(
        "SELECT kind, count(*) AS n FROM entries WHERE kind <> 'file' GROUP BY kind",
      ),
      childrenDigest: this.db.prepare<[string], { digest: Buffer }>('SELECT digest FROM child_digests WHERE dir = ?'),
      forgetChildrenDigest: this.db.prepare<[string]>('DELETE FROM child_digests WHERE dir = ?'),
      setChildrenDigest: this.db.prepare<[string, Buffer]>(
        'INSERT OR REPLACE INTO child_digests (dir, digest) VALUES (?, ?)',
      ),
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
  }

  get(path: RelPath): IndexedEntry | undefined {
    const row = this.statements.get.get(path);
    return row === undefined ? undefined : toEntry(row);
  }

  /**
   * What a directory comparison needs of each child of `dir`, straight from the rows:
   * the reconcile asks this for every directory of the tree.
   */
  childSummaries(dir: string): IndexedChild[] {
    const start = dir === '' ? 0 : dir.length + 1;
    return this.statements.childSummaries.all(dir).map((row) => {
      const [path, kind, mode, size, mtimeMs, target, ino, fpMtime, fpCtime, uid, gid, attrs] = row as [
        string,
        IndexedChild['kind'],
        number | null,
        number | null,
        number | null,
        string | null,
        number | null,
        number | null,
        number | null,
        number | null,
        number | null,
        string | null,
      ];
      const fingerprint = ino === null ? undefined : { ino, size: size ?? 0, mtimeMs: fpMtime!, ctimeMs: fpCtime! };
      const child: IndexedChild = { name: path.slice(start), kind, fingerprint, ...ownerOf(uid, gid) };
      if (mode !== null) child.mode = mode;
      if (size !== null) child.size = size;
      if (mtimeMs !== null) child.mtimeMs = mtimeMs;
      if (target !== null) child.target = target;
      if (attrs !== null) child.attributes = attributesFromText(attrs);
      return child;
    });
  }

  childrenDigest(dir: string): Buffer | undefined {
    return this.statements.childrenDigest.get(dir)?.digest;
  }

  setChildrenDigest(dir: string, digest: Buffer): void {
    this.forgotten?.delete(dir);
    this.statements.setChildrenDigest.run(dir, digest);
  }

  /** Paths strictly below `dir`. SQLite compares text bytewise, so a '/'..'0' range is the subtree. */
  below(dir: string): RelPath[] {
    if (dir === '') return this.statements.all.all().map((r) => r.path as RelPath);
    return this.statements.below.all(`${dir}/`, `${dir}0`).map((r) => r.path as RelPath);
  }

  /** How many entries `below(dir)` would return, without listing them. */
  countBelow(dir: string): number {
    if (dir === '') return this.statements.countAll.get()!.n;
    return this.statements.countBelow.get(`${dir}/`, `${dir}0`)!.n;
  }

  linkedPaths(link: string): RelPath[] {
    return this.statements.linked.all(link).map((row) => row.path as RelPath);
  }

  hasHash(hash: string): boolean {
    return this.statements.hasHash.get(hash) !== undefined;
  }

  put(path: RelPath, state: EntryState, seq: number, fingerprint: Fingerprint | undefined): void {
    const parent = parentOf(path);
    if (this.forgotten?.has(parent) !== true) {
      this.statements.forgetChildrenDigest.run(parent);
      this.forgotten?.add(parent);
    }
    this.statements.put.run({
      path,
      parent,
      kind: state.kind,
      mode: state.kind === 'symlink' ? null : state.mode,
      size: state.kind === 'file' ? state.size : null,
      mtime_ms: state.mtimeMs ?? null,
      hash: state.kind === 'file' ? state.hash : null,
      target: state.kind === 'symlink' ? state.target : null,
      seq,
      ino: fingerprint?.ino ?? null,
      fp_mtime_ms: fingerprint?.mtimeMs ?? null,
      fp_ctime_ms: fingerprint?.ctimeMs ?? null,
      uid: state.owner?.uid ?? null,
      gid: state.owner?.gid ?? null,
      mtime_ns: state.mtimeNs ?? null,
      attrs: attributesText(state),
      link: state.kind === 'file' ? (state.link ?? null) : null,
    });
  }

  remove(path: RelPath): void {
    this.statements.remove.run(path);
  }

  counts(): Record<'file' | 'dir' | 'symlink', number> {
    const result = { file: this.countBelow(''), dir: 0, symlink: 0 };
    for (const { kind, n } of this.statements.countNotFiles.all()) {
      result[kind as 'dir' | 'symlink'] = n;
      result.file -= n;
    }
    return result;
  }

  getMeta(key: string): string | undefined {
    return this.statements.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.statements.setMeta.run(key, value);
  }

  apply(writes: readonly IndexWrite[], meta: Readonly<Record<string, string>> = {}): void {
    applyIndexWrites(this, writes, meta);
  }

  /** Runs `fn` in one transaction (committed when it returns, rolled back if it throws). */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.forgotten = new Set();
    try {
      return this.db.transaction(fn)();
    } finally {
      this.forgotten = undefined;
    }
  }

  close(): void {
    this.db.close();
  }
}

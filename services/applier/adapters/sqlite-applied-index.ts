// The applied index on SQLite (better-sqlite3, WAL), built for replicas of 9M+ paths:
// every hot-path question is one indexed lookup or one key range, never a scan.
//  - path is the primary key of a WITHOUT ROWID table, compared bytewise (BINARY), so
//    the subtree of `d` is the key range ('d/', 'd0'): '/' + 1 = '0'.
//  - parent is indexed (present entries only) for childCount and sweeps.
//  - hash (32 raw bytes) is indexed (files only) for local copies.
// Writes happen inside one transaction that the applier commits at its durability
// points (synchronous=FULL: a commit is on disk when commit() returns). An EXCLUSIVE
// lock keeps a second applier off the same state directory.
import Database from 'better-sqlite3';
import { parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry } from '../domain/plan.ts';
import type { HealWait, ReplicaIndex } from './applied-index.ts';
import { DirCache } from './dir-cache.ts';

export const INDEX_FILE_NAME = 'applied-index.sqlite';

const KIND = { absent: 0, file: 1, dir: 2, symlink: 3 } as const;
/** Directory entries kept in memory in front of SQLite, at most (then the cache starts over). */
const MAX_CACHED_DIRS = 100_000;

type Row = {
  path: string;
  kind: number;
  seq: number;
  hash: Buffer | null;
  size: number | null;
  mode: number | null;
  mtime: number | null;
  target: string | null;
  explicit: number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  path TEXT NOT NULL PRIMARY KEY,
  parent TEXT NOT NULL,
  kind INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB,
  size INTEGER,
  mode INTEGER,
  mtime INTEGER,
  target TEXT,
  explicit INTEGER NOT NULL DEFAULT 0,
  epoch INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_parent ON entries(parent) WHERE kind <> 0;
CREATE INDEX IF NOT EXISTS files_by_hash ON entries(hash) WHERE kind = 1;
CREATE INDEX IF NOT EXISTS tombstones_by_seq ON entries(seq) WHERE kind = 0;
CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heal_waits (
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  hash TEXT NOT NULL,
  reason TEXT NOT NULL,
  since INTEGER NOT NULL,
  key BLOB,
  value BLOB,
  headers TEXT NOT NULL,
  PRIMARY KEY (partition, offset)
) WITHOUT ROWID;
`;

type HealWaitRow = Omit<HealWait, 'headers' | 'reason'> & { reason: string; headers: string };

const COLUMNS = 'path, kind, seq, hash, size, mode, mtime, target, explicit';
const EXISTS = '(kind = 1 OR kind = 3 OR (kind = 2 AND explicit = 1))';

function toEntry(row: Row): AppliedEntry {
  switch (row.kind) {
    case KIND.file:
      return {
        kind: 'file',
        seq: row.seq,
        hash: row.hash!.toString('hex'),
        size: row.size!,
        mode: row.mode!,
        mtimeMs: row.mtime!,
      };
    case KIND.dir:
      return { kind: 'dir', seq: row.seq, mode: row.mode, explicit: row.explicit === 1 };
    case KIND.symlink:
      return { kind: 'symlink', seq: row.seq, target: row.target! };
    default:
      return { kind: 'absent', seq: row.seq };
  }
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM entries WHERE path = ?`),
    maxSeqBelow: db.prepare<[string, string], { m: number | null }>(
      `SELECT max(seq) AS m FROM entries WHERE path > ? AND path < ? AND ${EXISTS}`,
    ),
    childCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM entries WHERE parent = ? AND kind <> 0'),
    children: db.prepare<[string], { path: string }>('SELECT path FROM entries WHERE parent = ? AND kind <> 0'),
    upsert: db.prepare<
      [
        string,
        string,
        number,
        number,
        Buffer | null,
        number | null,
        number | null,
        number | null,
        string | null,
        number,
        number,
      ]
    >(
      'INSERT OR REPLACE INTO entries (path, parent, kind, seq, hash, size, mode, mtime, target, explicit, epoch) ' +
        'VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    ),
    forgetBelow: db.prepare<[string, string]>('DELETE FROM entries WHERE path > ? AND path < ?'),
    pruneTombstones: db.prepare<[number, number]>(
      'DELETE FROM entries WHERE path IN (SELECT path FROM entries WHERE kind = 0 AND seq < ? LIMIT ?)',
    ),
    withHash: db.prepare<[Buffer, number], { path: string }>(
      'SELECT path FROM entries WHERE hash = ? AND kind = 1 LIMIT ?',
    ),
    page: db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM entries WHERE path > ? ORDER BY path LIMIT ?`),
    touch: db.prepare<[number, string]>('UPDATE entries SET epoch = ? WHERE path = ?'),
    staleFirst: db.prepare<[number, number], Row>(
      `SELECT ${COLUMNS} FROM entries WHERE epoch < ? ORDER BY path DESC LIMIT ?`,
    ),
    staleBefore: db.prepare<[string, number, number], Row>(
      `SELECT ${COLUMNS} FROM entries WHERE path < ? AND epoch < ? ORDER BY path DESC LIMIT ?`,
    ),
    directories: db.prepare<[string, number], { path: string }>(
      'SELECT path FROM entries WHERE path > ? AND kind = 2 ORDER BY path LIMIT ?',
    ),
    remove: db.prepare<[string]>('DELETE FROM entries WHERE path = ?'),
    anyPresent: db.prepare<[], { one: number }>('SELECT 1 AS one FROM entries WHERE kind <> 0 LIMIT 1'),
    clear: db.prepare('DELETE FROM entries'),
    clearHealWaits: db.prepare('DELETE FROM heal_waits'),
    readMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    writeMeta: db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    healWaits: db.prepare<[number], HealWaitRow>(
      'SELECT partition, offset, hash, reason, since, key, value, headers FROM heal_waits ' +
        'ORDER BY partition, offset LIMIT ?',
    ),
    recordHealWait: db.prepare<[number, number, string, string, number, Buffer | null, Buffer | null, string]>(
      'INSERT OR REPLACE INTO heal_waits (partition, offset, hash, reason, since, key, value, headers) ' +
        'VALUES (?,?,?,?,?,?,?,?)',
    ),
    dropHealWait: db.prepare<[number, number]>('DELETE FROM heal_waits WHERE partition = ? AND offset = ?'),
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
  };
}

export class SqliteAppliedIndex implements ReplicaIndex {
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepare>;
  private readonly dirs = new DirCache(MAX_CACHED_DIRS);
  private currentEpoch = 0;

  /** Opens (creating if needed) the index at `file`; throws if another process holds it. */
  constructor(file: string) {
    // A short busy timeout: a held lock means another applier, not a brief contention.
    this.db = new Database(file, { timeout: 200 });
    try {
      // EXCLUSIVE before WAL: the WAL index then lives in our heap and the lock is held
      // from the first transaction until close (or the process dies).
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // FULL: a commit survives power loss. One commit per durability point, so cheap.
      this.db.pragma('synchronous = FULL');
      this.db.pragma('cache_size = -65536');
      this.db.pragma('temp_store = MEMORY');
      this.db.exec(SCHEMA);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.sql = prepare(this.db);
  }

  get(path: RelPath): AppliedEntry | undefined {
    return this.dirs.get(path) ?? this.load(path);
  }

  /** Directories are asked for again and again (every event checks its ancestors): one walk of the cache. */
  ancestorEntries(path: RelPath): (AppliedEntry | undefined)[] {
    return this.dirs.ancestors(path, (ancestor) => this.load(ancestor as RelPath));
  }

  private load(path: RelPath): AppliedEntry | undefined {
    const row = this.sql.get.get(path);
    if (row === undefined) return undefined;
    const entry = toEntry(row);
    if (entry.kind === 'dir') this.dirs.set(path, entry);
    return entry;
  }

  maxSeqBelow(path: RelPath): number {
    return this.sql.maxSeqBelow.get(`${path}/`, `${path}0`)?.m ?? -1;
  }

  childCount(path: RelPath): number {
    return this.sql.childCount.get(path)!.n;
  }

  record(path: RelPath, entry: AppliedEntry): void {
    this.write();
    if (entry.kind === 'dir') this.dirs.set(path, entry);
    else this.dirs.drop(path);
    const parent = parentOf(path);
    const epoch = this.currentEpoch;
    switch (entry.kind) {
      case 'file':
        this.sql.upsert.run(
          path,
          parent,
          KIND.file,
          entry.seq,
          Buffer.from(entry.hash, 'hex'),
          entry.size,
          entry.mode,
          entry.mtimeMs,
          null,
          0,
          epoch,
        );
        return;
      case 'dir':
        this.sql.upsert.run(
          path,
          parent,
          KIND.dir,
          entry.seq,
          null,
          null,
          entry.mode,
          null,
          null,
          entry.explicit ? 1 : 0,
          epoch,
        );
        return;
      case 'symlink':
        this.sql.upsert.run(path, parent, KIND.symlink, entry.seq, null, null, null, null, entry.target, 0, epoch);
        return;
      case 'absent':
        this.sql.upsert.run(path, parent, KIND.absent, entry.seq, null, null, null, null, null, 0, epoch);
        return;
      default: {
        const unknown: never = entry;
        throw new TypeError(`unknown entry ${JSON.stringify(unknown)}`);
      }
    }
  }

  forgetBelow(path: RelPath): void {
    this.write();
    this.dirs.dropBelow(path);
    this.sql.forgetBelow.run(`${path}/`, `${path}0`);
  }

  pruneTombstones(seq: number, limit = Number.POSITIVE_INFINITY): number {
    this.write();
    let pruned = 0;
    while (pruned < limit) {
      const { changes } = this.sql.pruneTombstones.run(seq, Math.min(10_000, limit - pruned));
      pruned += changes;
      if (changes === 0) break;
    }
    return pruned;
  }

  pathsWithHash(hash: string, limit: number): RelPath[] {
    return this.sql.withHash.all(Buffer.from(hash, 'hex'), limit).map((row) => row.path as RelPath);
  }

  /** Pages through the table (1000 rows at a time), so writes may interleave with the walk. */
  *entries(): Iterable<[RelPath, AppliedEntry]> {
    let after = '';
    for (;;) {
      const rows = this.sql.page.all(after, 1000);
      for (const row of rows) yield [row.path as RelPath, toEntry(row)];
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.path;
    }
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  setEpoch(epoch: number): void {
    this.currentEpoch = epoch;
  }

  touch(path: RelPath): void {
    this.write();
    this.sql.touch.run(this.currentEpoch, path);
  }

  staleEntries(limit: number, before?: RelPath): [RelPath, AppliedEntry][] {
    const rows =
      before === undefined
        ? this.sql.staleFirst.all(this.currentEpoch, limit)
        : this.sql.staleBefore.all(before, this.currentEpoch, limit);
    return rows.map((row) => [row.path as RelPath, toEntry(row)]);
  }

  directories(limit: number, after?: RelPath): RelPath[] {
    return this.sql.directories.all(after ?? '', limit).map((row) => row.path as RelPath);
  }

  presentChildren(dir: RelPath | ''): string[] {
    const skip = dir === '' ? 0 : dir.length + 1;
    return this.sql.children.all(dir).map((row) => row.path.slice(skip));
  }

  remove(path: RelPath): void {
    this.write();
    this.dirs.drop(path);
    this.sql.remove.run(path);
  }

  hasPresentEntries(): boolean {
    return this.sql.anyPresent.get() !== undefined;
  }

  clear(): void {
    this.write();
    this.dirs.clear();
    this.sql.clear.run();
    this.sql.clearHealWaits.run();
  }

  readMeta<T>(key: string): T | undefined {
    const row = this.sql.readMeta.get(key);
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  writeMeta(key: string, value: unknown): void {
    this.write();
    this.sql.writeMeta.run(key, JSON.stringify(value));
  }

  healWaits(limit: number): HealWait[] {
    return this.sql.healWaits.all(limit).map((row) => ({
      ...row,
      reason: row.reason === 'content-mismatch' ? 'content-mismatch' : 'content-missing',
      headers: JSON.parse(row.headers) as Record<string, string>,
    }));
  }

  recordHealWait(wait: HealWait): void {
    this.write();
    this.sql.recordHealWait.run(
      wait.partition,
      wait.offset,
      wait.hash,
      wait.reason,
      wait.since,
      wait.key,
      wait.value,
      JSON.stringify(wait.headers),
    );
  }

  dropHealWait(partition: number, offset: number): void {
    this.write();
    this.sql.dropHealWait.run(partition, offset);
  }

  commit(): void {
    if (this.db.inTransaction) this.sql.commit.run();
  }

  /** Closes without committing: what was not committed is rolled back, as after a crash. */
  close(): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.db.close();
  }

  private write(): void {
    if (!this.db.inTransaction) this.sql.begin.run();
  }
}

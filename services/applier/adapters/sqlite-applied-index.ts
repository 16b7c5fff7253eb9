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
import type { RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry } from '../domain/plan.ts';
import { LINK_PEERS, type HealWait, type ReplicaIndex } from './applied-index.ts';
import { DirCache } from './dir-cache.ts';
import { toEntry, upsertParams } from './sqlite-index-rows.ts';
import { addMissingColumns } from '../../shared/sqlite-columns.ts';
import { FORMAT_2_COLUMNS, FORMAT_3_COLUMNS, FORMAT_3_INDEXES, prepare, SCHEMA } from './sqlite-index-sql.ts';

export const INDEX_FILE_NAME = 'applied-index.sqlite';

/** Directory entries kept in memory in front of SQLite, at most (then the cache starts over). */
const MAX_CACHED_DIRS = 100_000;

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
      addMissingColumns(this.db, 'entries', { ...FORMAT_2_COLUMNS, ...FORMAT_3_COLUMNS });
      this.db.exec(FORMAT_3_INDEXES);
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
    this.sql.upsert.run(...upsertParams(path, entry, this.currentEpoch));
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

  linkPeers(link: string, limit = LINK_PEERS): { path: RelPath; entry: AppliedEntry }[] {
    return this.sql.linkPeers.all(link, limit).map((row) => ({ path: row.path as RelPath, entry: toEntry(row) }));
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

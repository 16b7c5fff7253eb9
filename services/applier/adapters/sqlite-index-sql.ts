// The SQLite index's schema and its prepared statements: the key ranges and indexes the
// hot path relies on (see sqlite-applied-index.ts) are spelled out here.
import type Database from 'better-sqlite3';
import type { HealWait } from './applied-index.ts';
import type { Row, UpsertParams } from './sqlite-index-rows.ts';

export const SCHEMA = `
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
  epoch INTEGER NOT NULL,
  uid INTEGER,
  gid INTEGER,
  mtime_ns TEXT,
  attrs TEXT,
  link TEXT
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

/** Added with record format 2 (owners, exact times); an older index gets them NULL. */
export const FORMAT_2_COLUMNS = { uid: 'INTEGER', gid: 'INTEGER', mtime_ns: 'TEXT' };
/** Added with record format 3: attributes (services/shared/attributes.ts's text) and hard-link identities. */
export const FORMAT_3_COLUMNS = { attrs: 'TEXT', link: 'TEXT' };
/** Made once the format-3 columns exist (an older index gets them on open). */
export const FORMAT_3_INDEXES = 'CREATE INDEX IF NOT EXISTS files_by_link ON entries(link) WHERE link IS NOT NULL;';

/** A heal wait as stored (heal-channel.ts): reason and headers as text. */
export type HealWaitRow = Omit<HealWait, 'headers' | 'reason'> & { reason: string; headers: string };

const COLUMNS = 'path, kind, seq, hash, size, mode, mtime, target, explicit, uid, gid, mtime_ns, attrs, link';
const EXISTS = '(kind = 1 OR kind = 3 OR (kind = 2 AND explicit = 1))';

export function prepare(db: Database.Database) {
  return {
    get: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM entries WHERE path = ?`),
    maxSeqBelow: db.prepare<[string, string], { m: number | null }>(
      `SELECT max(seq) AS m FROM entries WHERE path > ? AND path < ? AND ${EXISTS}`,
    ),
    childCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM entries WHERE parent = ? AND kind <> 0'),
    children: db.prepare<[string], { path: string }>('SELECT path FROM entries WHERE parent = ? AND kind <> 0'),
    upsert: db.prepare<UpsertParams>(
      'INSERT OR REPLACE INTO entries (path, parent, kind, seq, hash, size, mode, mtime, target, explicit, ' +
        'epoch, uid, gid, mtime_ns, attrs, link) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
    ),
    forgetBelow: db.prepare<[string, string]>('DELETE FROM entries WHERE path > ? AND path < ?'),
    pruneTombstones: db.prepare<[number, number]>(
      'DELETE FROM entries WHERE path IN (SELECT path FROM entries WHERE kind = 0 AND seq < ? LIMIT ?)',
    ),
    linkPeers: db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM entries WHERE link = ? AND kind = 1 LIMIT ?`),
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
    healWaits: db.prepare<[number], HealWaitRow>(
      'SELECT partition, offset, hash, reason, since, key, value, headers FROM heal_waits ' +
        'ORDER BY partition, offset LIMIT ?',
    ),
    recordHealWait: db.prepare<[number, number, string, string, number, Buffer | null, Buffer | null, string]>(
      'INSERT OR REPLACE INTO heal_waits (partition, offset, hash, reason, since, key, value, headers) ' +
        'VALUES (?,?,?,?,?,?,?,?)',
    ),
    dropHealWait: db.prepare<[number, number]>('DELETE FROM heal_waits WHERE partition = ? AND offset = ?'),
    readMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    writeMeta: db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
  };
}

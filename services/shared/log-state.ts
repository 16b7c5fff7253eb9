// The tree a topic describes: the latest event per path, optionally as of a time. Read
// once from the earliest offset to the high watermarks taken at the start, and kept in
// a temporary SQLite file (not in memory: a tree has millions of paths). Used by
// `mirrorlog verify` (what the replica must hold) and `mirrorlog restore` (what the
// tree held at a time).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Kafka } from 'kafkajs';
import { decodeRecord } from '../../schemas/codec.ts';
import { GROUP_PREFIX } from '../../schemas/names.ts';
import { readTopicToEnd } from './topic-reader.ts';
import type { MirrorEvent } from '../../schemas/event.ts';

export type LogStateOptions = {
  /** Only events detected at or before this time (ms since the epoch). */
  until?: number;
  /** Keep inline content (restore needs it; verify does not). */
  keepData: boolean;
  /** Per partition, stop before this offset (a replica's committed offsets); default: the high watermarks. */
  upTo?: ReadonlyMap<number, number>;
  onProgress?: (read: number, total: number) => void;
};

export type LogStateStats = { records: number; invalid: number; firstTs: number | undefined };

export class LogState {
  private readonly db: Database.Database;
  private readonly dir: string;
  private readonly upsert: Database.Statement;
  private readonly lookup: Database.Statement<[string], { json: string; data: Buffer | null }>;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-log-state-'));
    this.db = new Database(path.join(this.dir, 'state.db'));
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec(
      'CREATE TABLE latest (path TEXT PRIMARY KEY, seq INTEGER NOT NULL, op TEXT NOT NULL, ' +
        'json TEXT NOT NULL, data BLOB) WITHOUT ROWID',
    );
    this.upsert = this.db.prepare(
      `INSERT INTO latest (path, seq, op, json, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET seq = excluded.seq, op = excluded.op, json = excluded.json, ` +
        `data = excluded.data WHERE excluded.seq > latest.seq`,
    );
    this.lookup = this.db.prepare('SELECT json, data FROM latest WHERE path = ?');
  }

  add(events: readonly MirrorEvent[], keepData: boolean): void {
    this.db.transaction(() => {
      for (const event of events) {
        const { data, ...rest } = event as MirrorEvent & { data?: Buffer };
        this.upsert.run(
          event.path,
          event.seq,
          event.op,
          JSON.stringify(rest),
          keepData && data !== undefined ? data : null,
        );
      }
    })();
  }

  get(relPath: string): MirrorEvent | undefined {
    const row = this.lookup.get(relPath);
    return row === undefined ? undefined : revive(row);
  }

  /** The latest event of every path that exists (deletes left out), in path order: parents first. */
  *entries(): Iterable<MirrorEvent> {
    const rows = this.db
      .prepare<[], { json: string; data: Buffer | null }>(
        "SELECT json, data FROM latest WHERE op != 'delete' ORDER BY path",
      )
      .iterate();
    for (const row of rows) yield revive(row);
  }

  count(): number {
    return this.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM latest WHERE op != 'delete'").get()!.n;
  }

  close(): void {
    this.db.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function revive(row: { json: string; data: Buffer | null }): MirrorEvent {
  const event = JSON.parse(row.json) as MirrorEvent;
  return row.data === null ? event : ({ ...event, data: row.data } as MirrorEvent);
}

/** Reads the whole topic into `state`. Invalid records are counted and left out. */
export async function readLogState(
  kafka: Kafka,
  topic: string,
  state: LogState,
  options: LogStateOptions,
): Promise<LogStateStats> {
  const stats: LogStateStats = { records: 0, invalid: 0, firstTs: undefined };
  let total = 0;
  await readTopicToEnd(kafka, topic, {
    groupPrefix: GROUP_PREFIX.reader,
    onTotal: (records) => (total = records),
    ...(options.upTo === undefined ? {} : { upTo: options.upTo }),
    onBatch: (messages) => {
      const events: MirrorEvent[] = [];
      for (const message of messages) {
        stats.records++;
        const decoded = decodeRecord(message);
        if (!decoded.ok) {
          stats.invalid++;
          continue;
        }
        stats.firstTs = Math.min(stats.firstTs ?? decoded.event.ts, decoded.event.ts);
        if (options.until === undefined || decoded.event.ts <= options.until) events.push(decoded.event);
      }
      state.add(events, options.keepData);
      options.onProgress?.(stats.records, total);
    },
  });
  return stats;
}

// Where a replica stands, for `mirrorlog verify` to choose what to compare against
// (verify-basis.ts): its consumer group's committed offsets, and the record its applier
// keeps in the state directory's index.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Admin } from 'kafkajs';
import { INDEX_FILE_NAME } from '../applier/adapters/sqlite-applied-index.ts';
import { POSITIONS_META } from '../applier/durability-points.ts';
import { positionsFromJson } from '../applier/positions.ts';
import { REBUILD_META } from '../applier/rebuild.ts';
import { IDENTITY_META } from '../applier/replica-state.ts';
import { CliError } from '../shared/errors.ts';
import type { ReplicaRecord } from './verify-basis.ts';

/** The group's committed offsets on `topic`; with `repair`, refused while the group's applier runs. */
export async function groupOffsets(
  admin: Admin,
  group: string,
  topic: string,
  repair: boolean,
): Promise<Map<number, number>> {
  if (repair) {
    const { groups } = await admin.describeGroups([group]);
    const state = groups[0]?.state;
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      throw new CliError(
        `the applier of this replica is running (group ${group} is ${state}): stop it before --repair`,
        1,
      );
    }
  }
  const committed = new Map<number, number>();
  for (const entry of await admin.fetchOffsets({ groupId: group, topics: [topic] })) {
    for (const { partition, offset } of entry.partitions)
      if (Number(offset) >= 0) committed.set(partition, Number(offset));
  }
  return committed;
}

/** The replica's own record of its position, read-only (the applier may hold the index open). */
export function readReplicaRecord(stateDir: string): ReplicaRecord {
  const file = path.join(stateDir, INDEX_FILE_NAME);
  if (!fs.existsSync(file)) return { kind: 'absent', stateDir };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
    const meta = (key: string): unknown => {
      const row = db!.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key);
      return row === undefined ? undefined : JSON.parse(row.value);
    };
    const positions = meta(POSITIONS_META) as Record<string, number> | undefined;
    return {
      kind: 'found',
      stateDir,
      identity: meta(IDENTITY_META) as { replica: string; topic: string } | undefined,
      positions: positions === undefined ? undefined : positionsFromJson(positions),
      rebuildInProgress: (meta(REBUILD_META) ?? null) !== null,
    };
  } catch (error) {
    return { kind: 'unreadable', stateDir, reason: (error as Error).message };
  } finally {
    db?.close();
  }
}

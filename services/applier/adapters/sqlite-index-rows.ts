// Applied entries as rows of the SQLite index and back, pure: the kind as a small
// integer, the hash as 32 raw bytes, the parent stored beside the path for its index.
import { parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { Owner } from '../../../schemas/event.ts';
import { attributesFromText, attributesText } from '../../shared/attributes.ts';
import type { AppliedEntry } from '../domain/plan.ts';

export const KIND = { absent: 0, file: 1, dir: 2, symlink: 3 } as const;

export type Row = {
  path: string;
  kind: number;
  seq: number;
  hash: Buffer | null;
  size: number | null;
  mode: number | null;
  mtime: number | null;
  target: string | null;
  explicit: number;
  uid: number | null;
  gid: number | null;
  mtime_ns: string | null;
  attrs: string | null;
  link: string | null;
};

/** The columns of an upsert, in the order of its statement (sqlite-index-sql.ts). */
export type UpsertParams = [
  path: string,
  parent: string,
  kind: number,
  seq: number,
  hash: Buffer | null,
  size: number | null,
  mode: number | null,
  mtime: number | null,
  target: string | null,
  explicit: number,
  epoch: number,
  uid: number | null,
  gid: number | null,
  mtimeNs: string | null,
  attrs: string | null,
  link: string | null,
];

function ownerOf(row: Row): { owner?: Owner } {
  return row.uid === null || row.gid === null ? {} : { owner: { uid: row.uid, gid: row.gid } };
}

function timeOf(row: Row): { mtimeMs?: number } {
  return row.mtime === null ? {} : { mtimeMs: row.mtime };
}

/** The exact time and the attributes, which travel beside it. */
function exactTimeOf(row: Row): { mtimeNs?: string } {
  return { ...(row.mtime_ns === null ? {} : { mtimeNs: row.mtime_ns }), ...attributesFromText(row.attrs) };
}

export function toEntry(row: Row): AppliedEntry {
  switch (row.kind) {
    case KIND.file:
      return {
        kind: 'file',
        seq: row.seq,
        hash: row.hash!.toString('hex'),
        size: row.size!,
        mode: row.mode!,
        mtimeMs: row.mtime!,
        ...ownerOf(row),
        ...exactTimeOf(row),
        ...(row.link === null ? {} : { link: row.link }),
      };
    case KIND.dir:
      return {
        kind: 'dir',
        seq: row.seq,
        mode: row.mode,
        explicit: row.explicit === 1,
        ...ownerOf(row),
        ...timeOf(row),
        ...exactTimeOf(row),
      };
    case KIND.symlink:
      return {
        kind: 'symlink',
        seq: row.seq,
        target: row.target!,
        ...ownerOf(row),
        ...timeOf(row),
        ...exactTimeOf(row),
      };
    default:
      return { kind: 'absent', seq: row.seq };
  }
}

export function upsertParams(path: RelPath, entry: AppliedEntry, epoch: number): UpsertParams {
  const parent = parentOf(path);
  const uid = entry.kind === 'absent' ? null : (entry.owner?.uid ?? null);
  const gid = entry.kind === 'absent' ? null : (entry.owner?.gid ?? null);
  const ns = entry.kind === 'absent' ? null : (entry.mtimeNs ?? null);
  const attrs = entry.kind === 'absent' ? null : attributesText(entry);
  switch (entry.kind) {
    case 'file':
      return [
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
        uid,
        gid,
        ns,
        attrs,
        entry.link ?? null,
      ];
    case 'dir':
      return [
        path,
        parent,
        KIND.dir,
        entry.seq,
        null,
        null,
        entry.mode,
        entry.mtimeMs ?? null,
        null,
        entry.explicit ? 1 : 0,
        epoch,
        uid,
        gid,
        ns,
        attrs,
        null,
      ];
    case 'symlink':
      return [
        path,
        parent,
        KIND.symlink,
        entry.seq,
        null,
        null,
        null,
        entry.mtimeMs ?? null,
        entry.target,
        0,
        epoch,
        uid,
        gid,
        ns,
        attrs,
        null,
      ];
    case 'absent':
      return [
        path,
        parent,
        KIND.absent,
        entry.seq,
        null,
        null,
        null,
        null,
        null,
        0,
        epoch,
        null,
        null,
        null,
        null,
        null,
      ];
    default: {
      const unknown: never = entry;
      throw new TypeError(`unknown entry ${JSON.stringify(unknown)}`);
    }
  }
}

// What lstat says a path is, from its bigint Stats. Times are read as integer
// nanoseconds: a double of ms since the epoch cannot hold them, and truncating it put
// 1 file in ~4,000 1 ms off.
import type fs from 'node:fs';
import { floorNsToMs, MODE_MASK } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type { Probe } from '../ports/source-tree.ts';

/** The ms double Node's non-bigint Stats computes (so fingerprints stay comparable with older indexes). */
function msDouble(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

export function fingerprintOf(stats: fs.BigIntStats): Fingerprint {
  return {
    ino: Number(stats.ino),
    size: Number(stats.size),
    mtimeMs: msDouble(stats.mtimeNs),
    ctimeMs: msDouble(stats.ctimeNs),
  };
}

export function probeStats(stats: fs.BigIntStats): Probe {
  const mode = Number(stats.mode) & MODE_MASK;
  const owner = { uid: Number(stats.uid), gid: Number(stats.gid) };
  const mtimeMs = floorNsToMs(stats.mtimeNs);
  const mtimeNs = String(stats.mtimeNs);
  if (stats.isFile()) {
    const fingerprint = fingerprintOf(stats);
    // Another name links this inode: its identity lets the applier link the names alike.
    const link = stats.nlink > 1n ? `${stats.dev}:${stats.ino}:${stats.birthtimeNs}` : undefined;
    return { kind: 'file', mode, fingerprint, mtimeMs, mtimeNs, owner, ...(link === undefined ? {} : { link }) };
  }
  if (stats.isDirectory()) return { kind: 'dir', mode, fingerprint: fingerprintOf(stats), owner, mtimeMs, mtimeNs };
  if (stats.isSymbolicLink()) return { kind: 'symlink', owner, mtimeMs, mtimeNs };
  return { kind: 'special' };
}

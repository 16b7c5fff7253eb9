// What lstat says a path is, from its bigint Stats. Times are read as integer
// nanoseconds: a double of ms since the epoch cannot hold them, and truncating it put
// 1 file in ~4,000 1 ms off.
import type fs from 'node:fs';
import { MODE_MASK } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type { Probe } from '../ports/source-tree.ts';

const NS_PER_MS = 1_000_000n;

/** The ms double Node's non-bigint Stats computes (so fingerprints stay comparable with older indexes). */
function msDouble(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

/** Whole milliseconds since the epoch, floored exactly (what an event's mtimeMs carries). */
export function floorMs(ns: bigint): number {
  const ms = ns / NS_PER_MS;
  return Number(ns < 0n && ms * NS_PER_MS !== ns ? ms - 1n : ms);
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
  const mtimeMs = floorMs(stats.mtimeNs);
  const mtimeNs = String(stats.mtimeNs);
  if (stats.isFile()) return { kind: 'file', mode, fingerprint: fingerprintOf(stats), mtimeMs, mtimeNs, owner };
  if (stats.isDirectory()) return { kind: 'dir', mode, fingerprint: fingerprintOf(stats), owner, mtimeMs, mtimeNs };
  if (stats.isSymbolicLink()) return { kind: 'symlink', owner, mtimeMs, mtimeNs };
  return { kind: 'special' };
}

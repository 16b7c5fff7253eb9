// What the addon's directory scan (one fstatat per name, from C) says, as the probes
// lstat gives: the walk's readdir, path joins and Stats objects per child were half its
// CPU. The numbers are those of probeStats (stat-probe.ts), checked against it by a test.
import os from 'node:os';
import { MODE_MASK } from '../../../schemas/event.ts';
import { hasEscapedBytes, nameFromBytes } from '../../../schemas/name-bytes.ts';
import { SCAN_FIELDS } from '../../shared/native/watch.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type { Probe } from '../ports/source-tree.ts';

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

/** Exact nanoseconds as a decimal string, from whole seconds (≥ 0) and their nanoseconds. */
function nsText(seconds: number, nanos: number): string {
  return seconds === 0 ? String(nanos) : `${seconds}${String(nanos).padStart(9, '0')}`;
}

/** The names of a scan, each in canonical text (name-bytes.ts). */
export function scannedNames(names: Buffer): string[] {
  const text = names.toString();
  // U+FFFD: a byte that is not UTF-8 (or a real U+FFFD): the bytes decide, name by name.
  if (!text.includes('\uFFFD') && !hasEscapedBytes(text)) return text.split('\0').slice(0, -1);
  const decoded: string[] = [];
  for (let start = 0; start < names.length;) {
    const end = names.indexOf(0, start);
    decoded.push(nameFromBytes(names.subarray(start, end)));
    start = end + 1;
  }
  return decoded;
}

/**
 * The probe of entry `i`; undefined where the scan cannot tell it exactly (a file with
 * other names needs its birth time; a time before 1970), so that the caller lstat's it.
 */
export function scannedProbe(stats: Float64Array, i: number): Probe | undefined {
  const at = i * SCAN_FIELDS;
  const kind = stats[at]!;
  if (kind === 0) return { kind: 'missing' };
  if (kind === 5) return { kind: 'unreadable', code: ERRNO_NAMES.get(stats[at + 1]!) ?? 'EACCES' };
  if (kind === 4) return { kind: 'special' };
  const mtimeS = stats[at + 3]!;
  const mtimeN = stats[at + 4]!;
  const ctimeS = stats[at + 5]!;
  if (mtimeS < 0 || ctimeS < 0 || (kind === 1 && stats[at + 10]! > 1)) return undefined;
  const owner = { uid: stats[at + 8]!, gid: stats[at + 9]! };
  const mtimeNs = nsText(mtimeS, mtimeN);
  const mtimeMs = mtimeS * 1000 + (mtimeN - (mtimeN % 1e6)) / 1e6; // floored, as floorNsToMs does
  if (kind === 3) return { kind: 'symlink', owner, mtimeMs, mtimeNs };
  const mode = stats[at + 1]! & MODE_MASK;
  const fingerprint: Fingerprint = {
    ino: stats[at + 7]!,
    size: stats[at + 2]!,
    mtimeMs: mtimeS * 1e3 + mtimeN / 1e6,
    ctimeMs: ctimeS * 1e3 + stats[at + 6]! / 1e6,
  };
  return kind === 1
    ? { kind: 'file', mode, fingerprint, mtimeMs, mtimeNs, owner }
    : { kind: 'dir', mode, fingerprint, owner, mtimeMs, mtimeNs };
}

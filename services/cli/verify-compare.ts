// What `verify` reports: one entry of the log's state against what the replica holds.
// Pure: the caller lstats, reads links and hashes.
import { type MirrorEvent, type Owner } from '../../schemas/event.ts';
import { type Attributes } from '../../schemas/entry-attributes.ts';
import type { Ownership } from '../applier/domain/owner-policy.ts';

/**
 * `uid`/`gid`, `mtimeNs`, and `mtimeMs` of directories and symlinks: when the caller stat'ed
 * them. `attributes`: read in the parts the log's entry carries, when it carries any.
 */
type Stated = { uid?: number; gid?: number; mtimeNs?: string; attributes?: Attributes; ino?: bigint };
export type Found =
  | (Stated & { kind: 'file'; size: number; mode: number; mtimeMs: number; hash?: string })
  | (Stated & { kind: 'dir'; mode: number; mtimeMs?: number })
  | (Stated & { kind: 'symlink'; target: string; mtimeMs?: number })
  | { kind: 'other' }
  | undefined;

export type CompareOptions = {
  /** The applier runs with --allow-setid: setuid/setgid bits of files are expected. */
  readonly allowSetid?: boolean;
  /** The ids the applier's owner policy gives an entry; without: owners are not compared. */
  readonly ownership?: ((owner: Owner | undefined) => Ownership | undefined) | undefined;
};

/**
 * `ahead`: on the replica, absent from the log as of its offsets, but in the log after them
 * (never removed by --repair).
 */
export type DriftProblem =
  | 'missing'
  | 'extra'
  | 'ahead'
  | 'type'
  | 'size'
  | 'content'
  | 'mode'
  | 'mtime'
  | 'owner'
  | 'target'
  | 'xattrs'
  | 'acl'
  | 'link'
  | 'unsafe-parent';
export type Drift = { path: string; problem: DriftProblem; expected?: string; actual?: string };

const octal = (mode: number) => `0${mode.toString(8)}`;

export function describeExpected(event: MirrorEvent): string {
  switch (event.op) {
    case 'file':
      return `file of ${event.size} bytes`;
    case 'dir':
      return 'directory';
    case 'symlink':
      return `symlink to ${JSON.stringify(event.target)}`;
    case 'delete':
      return 'nothing';
  }
}

function describeFound(found: Found): string {
  if (found === undefined) return 'nothing';
  if (found.kind === 'file') return `file of ${found.size} bytes`;
  if (found.kind === 'dir') return 'directory';
  if (found.kind === 'symlink') return `symlink to ${JSON.stringify(found.target)}`;
  return 'a special file';
}

/**
 * The differences between an existing entry of the log and what the replica holds. A
 * file's setuid/setgid bits are expected only with `allowSetid` (the applier strips them
 * otherwise).
 */
export function compareEntry(
  expected: Exclude<MirrorEvent, { op: 'delete' }>,
  found: Found,
  options: CompareOptions = {},
): Drift[] {
  const path = expected.path;
  const expectedMode =
    expected.op === 'file' && options.allowSetid !== true
      ? expected.mode & ~0o6000
      : expected.op === 'symlink'
        ? 0
        : expected.mode;
  if (found === undefined) return [{ path, problem: 'missing', expected: describeExpected(expected) }];
  const kind = expected.op;
  if (found.kind !== kind)
    return [{ path, problem: 'type', expected: describeExpected(expected), actual: describeFound(found) }];
  const drifts: Drift[] = [];
  if (expected.op === 'file' && found.kind === 'file') {
    if (found.size !== expected.size)
      drifts.push({ path, problem: 'size', expected: String(expected.size), actual: String(found.size) });
    else if (found.hash !== undefined && found.hash !== expected.hash)
      drifts.push({ path, problem: 'content', expected: expected.hash, actual: found.hash });
    if (found.mtimeMs !== expected.mtimeMs)
      drifts.push({
        path,
        problem: 'mtime',
        expected: new Date(expected.mtimeMs).toISOString(),
        actual: new Date(found.mtimeMs).toISOString(),
      });
    else if (nsDiffer(expected.mtimeNs, found.mtimeNs))
      drifts.push({ path, problem: 'mtime', expected: `${expected.mtimeNs} ns`, actual: `${found.mtimeNs} ns` });
  }
  if (
    (expected.op === 'file' || expected.op === 'dir') &&
    (found.kind === 'file' || found.kind === 'dir') &&
    found.mode !== expectedMode
  ) {
    drifts.push({ path, problem: 'mode', expected: octal(expectedMode), actual: octal(found.mode) });
  }
  if (expected.op === 'symlink' && found.kind === 'symlink' && found.target !== expected.target) {
    drifts.push({ path, problem: 'target', expected: expected.target, actual: found.target });
  }
  if (expected.op !== 'file' && found.kind !== 'file') {
    const mtimeMs = expected.mtimeMs;
    if (mtimeMs !== undefined && found.mtimeMs !== undefined && found.mtimeMs !== mtimeMs)
      drifts.push({ path, problem: 'mtime', expected: isoTime(mtimeMs), actual: isoTime(found.mtimeMs) });
    else if (nsDiffer(expected.mtimeNs, found.mtimeNs))
      drifts.push({ path, problem: 'mtime', expected: `${expected.mtimeNs} ns`, actual: `${found.mtimeNs} ns` });
  }
  const ids = options.ownership?.(expected.owner);
  if (ids !== undefined && found.uid !== undefined) {
    const uid = ids.uid === -1 ? found.uid : ids.uid;
    const gid = ids.gid === -1 ? found.gid : ids.gid;
    if (uid !== found.uid || gid !== found.gid)
      drifts.push({ path, problem: 'owner', expected: `${uid}:${gid}`, actual: `${found.uid}:${found.gid}` });
  }
  if (found.attributes !== undefined)
    drifts.push(...attributeDrifts(path, expectedAttributes(expected, options), found.attributes));
  return drifts;
}

/** The applier sets security.capability only with --allow-setid (it grants privileges as setuid does). */
function expectedAttributes(expected: Attributes, options: CompareOptions): Attributes {
  if (options.allowSetid === true || expected.xattrs?.['security.capability'] === undefined) return expected;
  const { 'security.capability': _stripped, ...xattrs } = expected.xattrs;
  return { ...expected, xattrs };
}

function valueOf(record: object, name: string): unknown {
  return (record as Record<string, unknown>)[name];
}

function attributeDrifts(path: string, expected: Attributes, found: Attributes): Drift[] {
  const drifts: Drift[] = [];
  for (const part of ['xattrs', 'acl'] as const) {
    const want = expected[part];
    const have = found[part] ?? {};
    if (want === undefined) continue;
    const names = new Set([...Object.keys(want), ...Object.keys(have)]);
    const differing = [...names].filter((name) => valueOf(want, name) !== valueOf(have, name));
    if (differing.length > 0) {
      const list = (record: object) => differing.filter((name) => name in record).join(', ') || 'none';
      drifts.push({ path, problem: part, expected: list(want), actual: list(have) });
    }
  }
  return drifts;
}

/** Exact times are compared where the log has them (format 2) and the replica was stat'ed. */
function nsDiffer(expected: string | undefined, found: string | undefined): boolean {
  return expected !== undefined && found !== undefined && expected !== found;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function formatDrift(drift: Drift): string {
  const detail =
    drift.expected === undefined && drift.actual === undefined
      ? ''
      : ` (expected ${drift.expected ?? '-'}, found ${drift.actual ?? '-'})`;
  return `${drift.problem.padEnd(13)} ${JSON.stringify(drift.path)}${detail}`;
}

// Whose a replicated entry becomes, from the owner its event carries. As rsync does:
// by name when the replica knows the source's name (ids differ between machines), by
// number otherwise or with --numeric-ids; --usermap/--groupmap rules (FROM:TO, first
// match wins) come before either. Pure: the replica's names come in as lookups.
import type { OWNER_MODES } from '../../../schemas/config.ts';
import type { Owner } from '../../../schemas/event.ts';

export type OwnerMode = (typeof OWNER_MODES)[number];

/** FROM: a name, an id, a range `lo-hi` or `*`; TO: an id (names are resolved at start). */
export type IdRule = { from: { name: string } | { lo: number; hi: number } | 'any'; to: number };

export type OwnerPolicy = {
  readonly mode: OwnerMode;
  readonly numericIds: boolean;
  readonly users: readonly IdRule[];
  readonly groups: readonly IdRule[];
};

export type ReplicaAccounts = {
  uidOf(name: string): number | undefined;
  gidOf(name: string): number | undefined;
};

/** -1: leave as it is (fchown's "no change"). */
export type Ownership = { uid: number; gid: number };

/** The ids to give an entry; undefined: do not chown at all. */
export function ownershipFor(
  owner: Owner | undefined,
  policy: OwnerPolicy,
  accounts: ReplicaAccounts,
): Ownership | undefined {
  if (owner === undefined || policy.mode === 'none') return undefined;
  const uid = resolve(owner.uid, owner.user, policy.users, policy, (name) => accounts.uidOf(name));
  const gid = resolve(owner.gid, owner.group, policy.groups, policy, (name) => accounts.gidOf(name));
  return uid === -1 && gid === -1 ? undefined : { uid, gid };
}

function resolve(
  id: number,
  name: string | undefined,
  rules: readonly IdRule[],
  policy: OwnerPolicy,
  idOf: (name: string) => number | undefined,
): number {
  for (const rule of rules) if (matches(rule, id, name)) return rule.to;
  if (policy.mode === 'map') return -1;
  if (policy.numericIds || name === undefined) return id;
  return idOf(name) ?? id;
}

function matches(rule: IdRule, id: number, name: string | undefined): boolean {
  if (rule.from === 'any') return true;
  if ('name' in rule.from) return rule.from.name === name;
  return id >= rule.from.lo && id <= rule.from.hi;
}

/**
 * Parses `FROM:TO,FROM:TO` (rsync's --usermap syntax, without its glob patterns). A TO
 * name must exist on the replica. Throws an Error naming the flag and the bad item.
 */
export function parseIdRules(text: string, flag: string, idOf: (name: string) => number | undefined): IdRule[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const parts = item.trim().split(':');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      throw new Error(`--${flag}: '${item}' is not FROM:TO (a name, id, lo-hi or * before the colon)`);
    const [fromText, toText] = parts as [string, string];
    return { from: parseFrom(fromText, flag), to: parseTo(toText, flag, idOf) };
  });
}

const MAX_ID = 0xfffffffe;

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

function parseFrom(text: string, flag: string): IdRule['from'] {
  if (text === '*') return 'any';
  const range = /^(\d{1,10})-(\d{1,10})$/.exec(text);
  if (range !== null) {
    const [lo, hi] = [parseId(range[1]!), parseId(range[2]!)];
    if (lo === undefined || hi === undefined || lo > hi) throw new Error(`--${flag}: '${text}' is not a range of ids`);
    return { lo, hi };
  }
  const id = parseId(text);
  if (id !== undefined) return { lo: id, hi: id };
  if (text.includes('*') || text.includes('?') || text.includes('['))
    throw new Error(`--${flag}: '${text}': only * alone is a pattern here`);
  return { name: text };
}

function parseTo(text: string, flag: string, idOf: (name: string) => number | undefined): number {
  const id = parseId(text) ?? idOf(text);
  if (id === undefined) throw new Error(`--${flag}: '${text}' is neither an id nor a name known on this machine`);
  return id;
}

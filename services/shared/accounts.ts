// User and group names of this machine, both ways, from /etc/passwd and /etc/group (the
// files rsync's name mapping reads too, through NSS). Node has no getpwuid; the files are
// parsed once and again only when they change, looked at no more than every few seconds,
// so a lookup per event costs a map access.
import { readFileSync, statSync } from 'node:fs';

export type AccountFiles = { readonly passwd: string; readonly group: string };

const SYSTEM_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' };
const RECHECK_MS = 5_000;

type Table = { nameOf: Map<number, string>; idOf: Map<string, number> };

/** `name:x:id:...` lines: the first name of an id wins, as getpwuid answers. */
export function parseAccounts(text: string): Table {
  const table: Table = { nameOf: new Map(), idOf: new Map() };
  for (const line of text.split('\n')) {
    const [name, , idText] = line.split(':');
    if (name === undefined || name === '' || name.startsWith('#') || idText === undefined) continue;
    if (!/^\d{1,10}$/.test(idText)) continue;
    const id = Number(idText);
    if (!table.nameOf.has(id)) table.nameOf.set(id, name);
    if (!table.idOf.has(name)) table.idOf.set(name, id);
  }
  return table;
}

class AccountFile {
  private table: Table = { nameOf: new Map(), idOf: new Map() };
  private stamp = '';
  private checkedAt = -Infinity;

  constructor(
    private readonly path: string,
    private readonly now: () => number,
  ) {}

  current(): Table {
    const now = this.now();
    if (now - this.checkedAt < RECHECK_MS) return this.table;
    this.checkedAt = now;
    try {
      const stats = statSync(this.path, { bigint: true });
      const stamp = `${stats.ino}:${stats.mtimeNs}:${stats.size}`;
      if (stamp !== this.stamp) {
        this.table = parseAccounts(readFileSync(this.path, 'utf8'));
        this.stamp = stamp;
      }
    } catch {
      // No such file (a minimal container): ids only.
      this.table = { nameOf: new Map(), idOf: new Map() };
      this.stamp = '';
    }
    return this.table;
  }
}

export class Accounts {
  private readonly users: AccountFile;
  private readonly groups: AccountFile;

  constructor(files: AccountFiles = SYSTEM_FILES, now: () => number = Date.now) {
    this.users = new AccountFile(files.passwd, now);
    this.groups = new AccountFile(files.group, now);
  }

  userName(uid: number): string | undefined {
    return this.users.current().nameOf.get(uid);
  }

  groupName(gid: number): string | undefined {
    return this.groups.current().nameOf.get(gid);
  }

  uidOf(name: string): number | undefined {
    return this.users.current().idOf.get(name);
  }

  gidOf(name: string): number | undefined {
    return this.groups.current().idOf.get(name);
  }
}

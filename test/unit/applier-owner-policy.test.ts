// Whose a replicated entry becomes: by name as rsync does, by number with --numeric-ids,
// --usermap/--groupmap rules first, only the rules with --owner map, nothing with none;
// and the start-time checks that turn a bad combination into one line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ownershipFor, parseIdRules, type OwnerPolicy } from '../../services/applier/domain/owner-policy.ts';
import { mayChown, ownerPolicy } from '../../services/applier/owner-setup.ts';
import { Accounts, parseAccounts } from '../../services/shared/accounts.ts';

// The replica's accounts: www-data is 33 here, as on Debian; the source had it as 82 (Alpine).
const users = new Map([
  ['root', 0],
  ['www-data', 33],
  ['deploy', 1001],
]);
const groups = new Map([
  ['root', 0],
  ['www-data', 33],
  ['web', 2000],
]);
const replica = { uidOf: (n: string) => users.get(n), gidOf: (n: string) => groups.get(n) };
const policy = (patch: Partial<OwnerPolicy> = {}): OwnerPolicy => ({
  mode: 'preserve',
  numericIds: false,
  users: [],
  groups: [],
  ...patch,
});

test('preserve maps by name when the replica knows it, else keeps the number', () => {
  assert.deepEqual(ownershipFor({ uid: 82, gid: 82, user: 'www-data', group: 'www-data' }, policy(), replica), {
    uid: 33,
    gid: 33,
  });
  assert.deepEqual(ownershipFor({ uid: 5000, gid: 5000, user: 'gone', group: 'gone' }, policy(), replica), {
    uid: 5000,
    gid: 5000,
  });
  assert.deepEqual(ownershipFor({ uid: 7, gid: 8 }, policy(), replica), { uid: 7, gid: 8 });
});

test('--numeric-ids keeps the numbers even where the name is known', () => {
  const owner = { uid: 82, gid: 82, user: 'www-data', group: 'www-data' };
  assert.deepEqual(ownershipFor(owner, policy({ numericIds: true }), replica), { uid: 82, gid: 82 });
});

test('rules come first, first match wins; names, ids, ranges and * match', () => {
  const rules = policy({
    users: parseIdRules('deploy:www-data,1000-1999:0,*:1001', 'usermap', replica.uidOf),
    groups: parseIdRules('82:web', 'groupmap', replica.gidOf),
  });
  assert.deepEqual(ownershipFor({ uid: 9, gid: 82, user: 'deploy' }, rules, replica), { uid: 33, gid: 2000 });
  assert.deepEqual(ownershipFor({ uid: 1500, gid: 1 }, rules, replica), { uid: 0, gid: 1 });
  assert.deepEqual(ownershipFor({ uid: 4, gid: 1, user: 'x' }, rules, replica), { uid: 1001, gid: 1 });
});

test('map gives only what a rule says (-1: unchanged), and nothing when no rule matches', () => {
  const mapOnly = policy({ mode: 'map', users: parseIdRules('www-data:deploy', 'usermap', replica.uidOf) });
  assert.deepEqual(ownershipFor({ uid: 82, gid: 82, user: 'www-data' }, mapOnly, replica), { uid: 1001, gid: -1 });
  assert.equal(ownershipFor({ uid: 1, gid: 1, user: 'other' }, mapOnly, replica), undefined);
});

test('none, or an event without an owner (format 1), chowns nothing', () => {
  assert.equal(ownershipFor({ uid: 1, gid: 1 }, policy({ mode: 'none' }), replica), undefined);
  assert.equal(ownershipFor(undefined, policy(), replica), undefined);
});

test('bad rules are one-line errors naming the flag and the item', () => {
  assert.throws(() => parseIdRules('deploy', 'usermap', replica.uidOf), /--usermap: 'deploy' is not FROM:TO/);
  assert.throws(() => parseIdRules('a:nobody-here', 'usermap', replica.uidOf), /'nobody-here' is neither an id/);
  assert.throws(() => parseIdRules('9-3:0', 'groupmap', replica.gidOf), /--groupmap: '9-3' is not a range/);
  assert.throws(() => parseIdRules('web*:0', 'usermap', replica.uidOf), /only \* alone is a pattern/);
  assert.deepEqual(parseIdRules('', 'usermap', replica.uidOf), []);
});

test('the policy at start: preserve by default with the right to chown, none without; bad mixes refused', () => {
  const accounts = new Accounts({ passwd: '/nonexistent', group: '/nonexistent' });
  const options = { owner: undefined, usermap: '', groupmap: '', numericIds: false };
  assert.equal(ownerPolicy(options, true, accounts).mode, 'preserve');
  assert.equal(ownerPolicy(options, false, accounts).mode, 'none');
  assert.throws(
    () => ownerPolicy({ ...options, owner: 'preserve' }, false, accounts),
    /needs root \(or CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID\)/,
  );
  assert.throws(() => ownerPolicy({ ...options, owner: 'map' }, true, accounts), /--owner map needs --usermap/);
  assert.throws(() => ownerPolicy({ ...options, owner: 'none', usermap: '1:2' }, true, accounts), /not none/);
  assert.throws(() => ownerPolicy({ ...options, usermap: 'x:nobody' }, true, accounts), /neither an id nor a name/);
});

test('account files: the first name of an id wins, comments and junk are skipped', () => {
  const table = parseAccounts('# c\nroot:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nbad:x:zz:1\n\nweb:x:33:33:::\n');
  assert.equal(table.nameOf.get(0), 'root');
  assert.equal(table.idOf.get('toor'), 0);
  assert.equal(table.nameOf.get(33), 'web');
  assert.equal(table.idOf.has('bad'), false);
});

test('the right to keep owners is read from the effective capabilities: all four, or none of it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-caps-'));
  try {
    const status = (capEff: string) => {
      const file = join(dir, 'status');
      writeFileSync(file, `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`);
      return file;
    };
    assert.equal(mayChown(status('000001ffffffffff')), true, 'root');
    assert.equal(mayChown(status('000000000000001b')), true, 'CHOWN, DAC_OVERRIDE, FOWNER, FSETID');
    assert.equal(mayChown(status('0000000000000001')), false, 'CAP_CHOWN alone cannot set modes afterwards');
    assert.equal(mayChown(status('0000000000000000')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The materializer against a temp directory: atomic writes with exact mode and mtime,
// symlinks never followed, nothing written outside the target, and tolerance of a
// filesystem that is ahead of the index.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FsMaterializer } from '../../services/applier/adapters/fs-materializer.ts';
import { fsyncDirFd } from '../../services/applier/adapters/fs-primitives.ts';
import { LinkSourceError } from '../../services/applier/adapters/hard-link.ts';
import { NotAFileError } from '../../services/applier/adapters/in-place-meta.ts';
import { TargetRoot, UnsafePathError } from '../../services/applier/adapters/target-root.ts';
import { TempJournal, readTempJournal } from '../../services/applier/adapters/temp-journal.ts';
import { isTempName, isTempNameOf, newRunToken, tempNameFor } from '../../services/applier/domain/temp-name.ts';
import { fsat } from '../../services/shared/native/fsat.ts';
import { nameFromBytes } from '../../schemas/name-bytes.ts';

/** A POSIX ACL as the kernel stores it (version 2, then tag, permissions and id per entry), base64. */
function aclValue(entries: [tag: number, perm: number, id: number][]): string {
  const value = Buffer.alloc(4 + 8 * entries.length);
  value.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    value.writeUInt16LE(tag, 4 + 8 * i);
    value.writeUInt16LE(perm, 6 + 8 * i);
    value.writeUInt32LE(id >>> 0, 8 + 8 * i);
  });
  return value.toString('base64');
}

let base: string;
let target: string;
let outside: string;
let journalFile: string;
let journal: TempJournal;
let fs: FsMaterializer;
const TOKEN = 'tok12345';

let stripped = 0;

function make(fsyncFiles = false, allowSetid = false): FsMaterializer {
  return new FsMaterializer({
    root: new TargetRoot(target),
    journal,
    token: TOKEN,
    fsyncFiles,
    allowSetid,
    onSetidStripped: () => stripped++,
  });
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'mirrorlog-materializer-'));
  target = join(base, 'target');
  outside = join(base, 'outside');
  mkdirSync(target);
  mkdirSync(outside);
  journalFile = join(base, 'journal');
  journal = new TempJournal(journalFile, [TOKEN]);
  fs = make();
});
afterEach(() => {
  journal.close();
  rmSync(base, { recursive: true, force: true });
});

const mtimeOf = (path: string) => Math.trunc(lstatSync(join(target, path)).mtimeMs);
const modeOf = (path: string) => lstatSync(join(target, path)).mode & 0o7777;
const visible = (dir = '') => readdirSync(join(target, dir)).sort();

describe('FsMaterializer', () => {
  it('writes a file atomically with its exact mode (setuid too when allowed, no umask) and mtime', () => {
    fs = make(false, true);
    fs.mkdir('a', 0o750);
    fs.write('a/f', { kind: 'buffer', data: Buffer.from('hello') }, 0o4751, 1_700_000_000_123);
    assert.equal(readFileSync(join(target, 'a/f'), 'utf8'), 'hello');
    assert.equal(modeOf('a/f'), 0o4751);
    assert.equal(mtimeOf('a/f'), 1_700_000_000_123);
    assert.equal(modeOf('a'), 0o750);
    assert.deepEqual(visible('a'), ['f']);
  });

  it('gives entries their attributes and ACLs; security.capability only with --allow-setid', () => {
    assert.equal(process.getuid?.(), 0, 'trusted.* and security.* need root: run the unit tier as root');
    const attrs = (path: string) =>
      Object.fromEntries(fsat.xattrs(join(target, path), 0).map(([n, v]) => [n.toString(), v.toString('base64')]));
    const capability = Buffer.from([0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).toString('base64');
    const acl = aclValue([
      [1, 6, -1],
      [2, 4, 33],
      [4, 4, -1],
      [0x10, 4, -1],
      [0x20, 0, -1],
    ]);
    const data = () => ({ kind: 'buffer' as const, data: Buffer.from('x') });
    const xattrs = { 'user.mime_type': 'dGV4dA==', 'security.capability': capability };
    fs.write('f', data(), 0o640, 1000, { xattrs, acl: { access: acl } });
    assert.deepEqual(attrs('f'), { 'user.mime_type': 'dGV4dA==', 'system.posix_acl_access': acl });
    assert.equal(stripped, 1, 'the capability is counted as stripped');
    assert.equal(modeOf('f'), 0o640, 'the ACL mask is the group bits');
    make(false, true).write('g', data(), 0o755, 1000, { xattrs });
    assert.deepEqual(attrs('g'), xattrs);
    fs.mkdir('d', 0o755, { acl: { access: acl, default: acl } });
    assert.deepEqual(Object.keys(attrs('d')).sort(), ['system.posix_acl_access', 'system.posix_acl_default']);
    fs.write('d/inherits', data(), 0o640, 1000, { acl: {} });
    assert.deepEqual(attrs('d/inherits'), {}, 'the inherited ACL goes: the source file has none');
    fs.symlink('l', 't', { xattrs: { 'trusted.origin': 'eA==' } });
    assert.deepEqual(attrs('l'), { 'trusted.origin': 'eA==' }, 'the link itself');
    fs.setMeta('f', 0o640, 1000, { xattrs: {} });
    assert.deepEqual(attrs('f'), { 'system.posix_acl_access': acl }, 'an ACL not carried stays');
  });

  it('writes names and link targets that are not UTF-8 as the bytes their escaped text stands for', () => {
    const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
    const latin1 = Buffer.from('caf\xe9.html', 'latin1');
    const dir = nameFromBytes(gbk);
    fs.mkdir(dir, 0o755);
    fs.write(`${dir}/${nameFromBytes(latin1)}`, { kind: 'buffer', data: Buffer.from('x') }, 0o644, 1000);
    fs.symlink(`${dir}/link`, nameFromBytes(Buffer.from([0x2e, 0x2e, 0x2f, 0xff])));
    assert.deepEqual(readdirSync(target, { encoding: 'buffer' }), [gbk]);
    const inside = Buffer.concat([Buffer.from(`${target}/`), gbk]);
    const names = readdirSync(inside, { encoding: 'buffer' })
      .map((name) => name.toString('latin1'))
      .sort();
    assert.deepEqual(names, [latin1.toString('latin1'), 'link']);
    const link = Buffer.concat([inside, Buffer.from('/link')]);
    assert.deepEqual(readlinkSync(link, { encoding: 'buffer' }), Buffer.from([0x2e, 0x2e, 0x2f, 0xff]));
    fs.remove(`${dir}/${nameFromBytes(latin1)}`);
    assert.deepEqual(readdirSync(inside), ['link']);
  });

  it('links a name to another name of a file, through a temp name, and refuses an inode named from elsewhere', () => {
    fs.write('a', { kind: 'buffer', data: Buffer.from('shared') }, 0o644, 1000);
    fs.link('d/b', 'a', 6, 1);
    const ino = (path: string) => lstatSync(join(target, path)).ino;
    assert.equal(ino('d/b'), ino('a'));
    assert.equal(lstatSync(join(target, 'a')).nlink, 2);
    fs.link('d/b', 'a', 6, 2); // already that inode: renaming onto it does nothing, the temp goes
    assert.deepEqual([visible(), visible('d')], [['a', 'd'], ['b']]);
    linkSync(join(target, 'a'), join(outside, 'planted'));
    assert.throws(() => fs.link('c', 'a', 6, 2), LinkSourceError, 'three names, the log knows two');
    assert.throws(() => fs.link('c', 'a', 5, 9), LinkSourceError, 'another size');
    assert.throws(() => fs.link('c', 'none', 6, 9), LinkSourceError);
    assert.deepEqual(visible(), ['a', 'd'], 'nothing left behind');
  });

  it('sets the nanoseconds an event carries, on files, directories and symlinks', () => {
    const ns = (path: string) => lstatSync(join(target, path), { bigint: true }).mtimeNs;
    fs.write('f', { kind: 'buffer', data: Buffer.alloc(1) }, 0o644, 1_700_000_000_123, {
      mtimeNs: '1700000000123456789',
    });
    fs.mkdir('d', 0o755, { mtimeMs: 1_600_000_000_001, mtimeNs: '1600000000001000007' });
    fs.symlink('l', 't', { mtimeMs: 1_500_000_000_000, mtimeNs: '1500000000000999999' });
    assert.deepEqual(
      [ns('f'), ns('d'), ns('l')],
      [1_700_000_000_123_456_789n, 1_600_000_000_001_000_007n, 1_500_000_000_000_999_999n],
    );
    fs.setMeta('f', 0o600, 1_700_000_000_123, { mtimeNs: '1700000000123000001' });
    assert.equal(ns('f'), 1_700_000_000_123_000_001n);
  });

  it('sets exact mtimes, also before 1970', () => {
    for (const ms of [0, 1, 999, -1, -1500, 1_700_000_000_001, 4_102_444_800_999]) {
      fs.write('t', { kind: 'buffer', data: Buffer.alloc(0) }, 0o644, ms);
      assert.equal(lstatSync(join(target, 't'), { bigint: true }).mtimeNs, BigInt(ms) * 1_000_000n, `mtime ${ms}`);
    }
  });

  it('replaces a file, a symlink or a whole directory in the way of a write', () => {
    writeFileSync(join(target, 'f'), 'old');
    symlinkSync(outside, join(target, 'l'));
    mkdirSync(join(target, 'd/e'), { recursive: true });
    writeFileSync(join(target, 'd/e/x'), 'x');
    for (const path of ['f', 'l', 'd']) fs.write(path, { kind: 'buffer', data: Buffer.from('new') }, 0o600, 1000);
    for (const path of ['f', 'l', 'd']) assert.equal(readFileSync(join(target, path), 'utf8'), 'new');
    assert.deepEqual(readdirSync(outside), []);
  });

  it('moves a staged file into place, or copies it when shared', () => {
    const staged = join(base, 'staged');
    writeFileSync(staged, 'big');
    fs.write('shared', { kind: 'file', path: staged, shared: true }, 0o640, 2000);
    assert.equal(existsSync(staged), true);
    fs.write('moved', { kind: 'file', path: staged, shared: false }, 0o600, 3000);
    assert.equal(existsSync(staged), false);
    assert.equal(readFileSync(join(target, 'shared'), 'utf8'), 'big');
    assert.equal(readFileSync(join(target, 'moved'), 'utf8'), 'big');
    assert.equal(modeOf('shared'), 0o640);
    assert.equal(mtimeOf('moved'), 3000);
  });

  it('creates symlinks without following anything, replacing what is there', () => {
    writeFileSync(join(target, 's'), 'file');
    fs.symlink('s', '/etc/passwd');
    fs.symlink('s', '../../x');
    assert.equal(readlinkSync(join(target, 's')), '../../x');
    fs.symlink('n', 'dangling');
    assert.equal(readlinkSync(join(target, 'n')), 'dangling');
  });

  it('refuses a write through a symlinked directory pointing outside, and writes nothing there', () => {
    symlinkSync(outside, join(target, 'a'));
    for (const attempt of [
      () => fs.write('a/x', { kind: 'buffer', data: Buffer.from('evil') }, 0o644, 0),
      () => fs.symlink('a/x', '/tmp'),
      () => fs.mkdir('a/x', 0o755),
      () => fs.write('a/b/c/x', { kind: 'buffer', data: Buffer.from('evil') }, 0o644, 0),
      () => fs.setMeta('a/x', 0o777, 0),
      () => fs.dirMeta('a/x', 0o777),
    ]) {
      assert.throws(attempt, UnsafePathError);
    }
    writeFileSync(join(outside, 'x'), 'keep');
    fs.remove('a/x'); // nothing of the replica's is there: nothing is removed
    assert.deepEqual(readdirSync(outside), ['x']);
    rmSync(join(outside, 'x'));
    assert.equal(fs.remove('a/x'), false);
  });

  it('a directory checked once and then replaced by a symlink (by a record) is checked again', () => {
    const data = { kind: 'buffer' as const, data: Buffer.from('x') };
    fs.write('a/b/x', data, 0o644, 0); // a and a/b are now remembered as checked
    fs.symlink('a', outside); // replaces the directory a (and all below) by a symlink
    mkdirSync(join(outside, 'b')); // so a stale memory of a/b would lead outside
    assert.throws(() => fs.write('a/b/y', data, 0o644, 0), UnsafePathError);
    assert.throws(() => fs.write('a/y', data, 0o644, 0), UnsafePathError);
    fs.write('c/x', data, 0o644, 0);
    fs.remove('c');
    fs.write('c/x', data, 0o644, 0); // removed then made again: fine
    assert.deepEqual(readdirSync(join(outside, 'b')), []);
  });

  it('a checked directory removed by someone else is made again', () => {
    const data = { kind: 'buffer' as const, data: Buffer.from('x') };
    fs.write('a/b/x', data, 0o644, 0);
    rmSync(join(target, 'a'), { recursive: true });
    fs.write('a/b/y', data, 0o644, 0);
    fs.symlink('a/b/l', 't');
    fs.mkdir('a/b/d', 0o700);
    assert.deepEqual(visible('a/b'), ['d', 'l', 'y']);
  });

  it('refuses a symlink to a directory inside the target too, and a file used as a directory', () => {
    mkdirSync(join(target, 'real'));
    symlinkSync('real', join(target, 'alias'));
    writeFileSync(join(target, 'file'), '');
    assert.throws(() => fs.write('alias/x', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0), UnsafePathError);
    assert.throws(() => fs.write('file/x', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0), UnsafePathError);
    assert.deepEqual(readdirSync(join(target, 'real')), []);
  });

  it('mkdir replaces a file or symlink in the way and fixes the mode of an existing directory', () => {
    writeFileSync(join(target, 'f'), '');
    symlinkSync(outside, join(target, 'l'));
    mkdirSync(join(target, 'd'), { mode: 0o700 });
    fs.mkdir('f', null);
    fs.mkdir('l', 0o711);
    fs.mkdir('d', 0o755);
    assert.equal(lstatSync(join(target, 'f')).isDirectory(), true);
    assert.equal(modeOf('f'), 0o755);
    assert.equal(modeOf('l'), 0o711);
    assert.equal(modeOf('d'), 0o755);
    fs.write('l/x', { kind: 'buffer', data: Buffer.from('in') }, 0o644, 0);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('recreates missing parent directories the index believes exist', () => {
    fs.write('m/n/f', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0);
    assert.equal(readFileSync(join(target, 'm/n/f'), 'utf8'), 'x');
  });

  it('removes trees without following symlinks inside them', () => {
    mkdirSync(join(target, 'd/e'), { recursive: true });
    writeFileSync(join(outside, 'keep'), 'keep');
    symlinkSync(outside, join(target, 'd/e/link'));
    fs.remove('d');
    assert.deepEqual(visible(), []);
    assert.deepEqual(readdirSync(outside), ['keep']);
    fs.remove('d');
    fs.remove('gone');
  });

  it('rmdir removes what the index did not know was inside', () => {
    mkdirSync(join(target, 'd'));
    writeFileSync(join(target, 'd/junk'), '');
    fs.remove('d');
    fs.remove('d');
    assert.deepEqual(visible(), []);
  });

  it('clear removes whatever is at a path the index does not know', () => {
    mkdirSync(join(target, 'd/e'), { recursive: true });
    writeFileSync(join(target, 'f'), '');
    assert.equal(fs.remove('d'), true);
    assert.equal(fs.remove('f'), true);
    assert.equal(fs.remove('f'), false);
    assert.equal(fs.remove('missing/deeper'), false);
    assert.deepEqual(visible(), []);
  });

  it('set-meta changes mode and mtime only, and reports a missing file as drift', () => {
    fs.write('f', { kind: 'buffer', data: Buffer.from('same') }, 0o644, 1000);
    fs.setMeta('f', 0o600, 5000);
    assert.equal(modeOf('f'), 0o600);
    assert.equal(mtimeOf('f'), 5000);
    assert.throws(() => fs.setMeta('nope', 0o600, 1), NotAFileError);
    symlinkSync('f', join(target, 'l'));
    assert.throws(() => fs.setMeta('l', 0o600, 1), NotAFileError);
  });

  it('directories and symlinks get their own mtimes; entries made or removed later are undone by a restore', () => {
    const ms = (path: string) => lstatSync(join(target, path), { bigint: true }).mtimeNs / 1_000_000n;
    fs.mkdir('d', 0o755, { mtimeMs: 1_600_000_000_001 });
    fs.symlink('d/l', 'elsewhere', { mtimeMs: 1_600_000_000_002 });
    assert.equal(ms('d/l'), 1_600_000_000_002n, "the link's own time, kept through its rename");
    fs.write('d/f', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0);
    fs.write('e/f', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0);
    assert.notEqual(ms('d'), 1_600_000_000_001n, 'creating entries moved it');
    const recorded = new Map([
      ['d', 1_600_000_000_001_000_000n],
      ['e', 1_600_000_000_003_000_000n],
    ]);
    assert.deepEqual(
      fs.restoreDirTimes((dir) => recorded.get(dir)),
      { failed: 0 },
    );
    assert.deepEqual([ms('d'), ms('e')], [1_600_000_000_001n, 1_600_000_000_003n]);
    fs.remove('d/f');
    fs.dirMeta('d', 0o700, { mtimeMs: 1_600_000_000_004 });
    assert.deepEqual([ms('d'), BigInt(modeOf('d'))], [1_600_000_000_004n, 0o700n]);
    recorded.set('e', 1n); // untouched since the last restore: left as it is
    fs.restoreDirTimes((dir) => recorded.get(dir));
    assert.equal(ms('e'), 1_600_000_000_003n);
  });

  it('chmod of a directory gone missing recreates it', () => {
    fs.dirMeta('gone', 0o700);
    assert.equal(modeOf('gone'), 0o700);
  });

  it('journals the directories of temp files, and removes only the temp files of journaled runs', () => {
    fs.write('a/b/f', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0);
    fs.symlink('c', 't');
    const crashed = tempNameFor('f', TOKEN, '2r');
    const otherRun = tempNameFor('f', 'other123', '1');
    writeFileSync(join(target, 'a/b', crashed), '');
    writeFileSync(join(target, 'a/b', otherRun), '');
    const found = readTempJournal(journalFile);
    assert.deepEqual([...found.tokens], [TOKEN]);
    assert.deepEqual([...found.dirs].sort(), ['', 'a/b']);
    assert.equal(fs.removeTempFiles('a/b', found.tokens), 1);
    assert.deepEqual(visible('a/b').sort(), [otherRun, 'f'].sort());
    journal.reset(['']);
    assert.deepEqual([...readTempJournal(journalFile).dirs], ['']);
  });

  it('strips setuid/setgid bits unless allowed, and counts each file', () => {
    stripped = 0;
    fs.write('s', { kind: 'buffer', data: Buffer.from('x') }, 0o6755, 1000);
    assert.equal(modeOf('s'), 0o755);
    fs.setMeta('s', 0o4700, 2000);
    assert.equal(modeOf('s'), 0o700);
    assert.equal(stripped, 2);
  });

  it('set-meta never changes a file with other hard links in place (it may be linked from outside)', () => {
    writeFileSync(join(outside, 'victim'), 'secret');
    chmodSync(join(outside, 'victim'), 0o600);
    const before = lstatSync(join(outside, 'victim'));
    linkSync(join(outside, 'victim'), join(target, 'f'));
    assert.throws(() => fs.setMeta('f', 0o4777, 5000), NotAFileError);
    const after = lstatSync(join(outside, 'victim'));
    assert.equal(after.mode, before.mode);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  it('temp names are unpredictable: no two writes use a name derivable from the last', () => {
    const seen = new Set<string>();
    const recording = new FsMaterializer({
      root: new TargetRoot(target),
      journal: { noteDir: () => undefined },
      token: TOKEN,
      fsyncFiles: false,
    });
    const spy = recording as unknown as { tempName(path: string): string };
    for (let i = 0; i < 50; i++) seen.add(spy.tempName('f'));
    assert.equal(seen.size, 50);
    const suffixes = [...seen].map((name) => name.slice(`.f.mirrorlog-${TOKEN}`.length, -'.tmp'.length));
    assert.ok(
      suffixes.every((suffix) => suffix.length >= 8),
      suffixes.join(','),
    );
  });

  it('with fsyncFiles, flushes the directories it changed, once; without, none', () => {
    const flushedBy = (materializer: FsMaterializer) => {
      const spy = materializer as unknown as { inExistingDir(dir: string, fn: (fd: number) => unknown): unknown };
      const original = spy.inExistingDir.bind(materializer);
      const dirs: string[] = [];
      spy.inExistingDir = (dir, fn) => {
        if (fn === fsyncDirFd) dirs.push(dir);
        return original(dir, fn);
      };
      return dirs;
    };
    const durable = make(true);
    const flushed = flushedBy(durable);
    durable.write('d/f', { kind: 'buffer', data: Buffer.from('x') }, 0o644, 0);
    durable.write('g/h', { kind: 'buffer', data: Buffer.from('y') }, 0o644, 0);
    durable.remove('d');
    durable.flushDirs();
    assert.deepEqual(new Set(flushed), new Set(['d', 'g', '']), 'the parents of what changed');
    flushed.length = 0;
    durable.flushDirs();
    assert.deepEqual(flushed, [], 'nothing changed since');
    const plain = make(false);
    const none = flushedBy(plain);
    plain.write('p/q', { kind: 'buffer', data: Buffer.from('z') }, 0o644, 0);
    plain.flushDirs();
    assert.deepEqual(none, []);
  });
});

describe('FsMaterializer as a non-root user', () => {
  // Run as `nobody` when the tests run as root (as in CI containers), directly otherwise.
  it('writes into, and removes, read-only directories it owns, restoring their modes', () => {
    const shared = mkdtempSync(join(tmpdir(), 'mirrorlog-nonroot-'));
    chmodSync(shared, 0o777);
    const module = new URL('../../services/applier/adapters/', import.meta.url);
    const script =
      `
      import { FsMaterializer } from '${new URL('fs-materializer.ts', module).href}';
      import { TargetRoot } from '${new URL('target-root.ts', module).href}';
      import { lstatSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
      const target = '${shared}/target';
      mkdirSync(target);
      const fs = new FsMaterializer({ root: new TargetRoot(target), journal: { noteDir() {} }, ` +
      `token: 'nonroot1', fsyncFiles: false });
      const mode = (p) => (lstatSync(target + '/' + p).mode & 0o7777).toString(8);
      fs.mkdir('ro', 0o555);
      fs.write('ro/f', { kind: 'buffer', data: Buffer.from('x') }, 0o444, 0);
      fs.symlink('ro/l', 'f');
      fs.mkdir('ro/sub', 0o555);
      fs.write('ro/sub/g', { kind: 'buffer', data: Buffer.from('y') }, 0o400, 0);
      fs.write('ro/f', { kind: 'buffer', data: Buffer.from('z') }, 0o444, 0);
      const checks = [readFileSync(target + '/ro/f', 'utf8'), mode('ro'), mode('ro/sub')];
      fs.remove('ro/l');
      fs.remove('ro');
      checks.push(existsSync(target + '/ro'));
      console.log(JSON.stringify(checks));
    `;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      ...asNobody,
    });
    rmSync(shared, { recursive: true, force: true });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').pop()!), ['z', '555', '555', false]);
  });
});

describe('temp names', () => {
  it('are hidden, recognisable, tied to their run and never the final name', () => {
    const token = newRunToken();
    assert.match(token, /^[0-9a-z]{8}$/);
    const name = tempNameFor('index.html', token, 'z');
    assert.equal(name, `.index.html.mirrorlog-${token}z.tmp`);
    assert.notEqual(name, 'index.html');
    assert.equal(isTempName(name), true);
    assert.equal(isTempNameOf(name, new Set([token])), true);
    assert.equal(isTempNameOf(name, new Set(['zzzzzzzz'])), false);
    for (const real of ['index.html', '.hidden', 'a.tmp', '.mirrorlog.tmp', 'mirrorlog-abc.tmp'])
      assert.equal(isTempName(real), false, real);
  });

  it('stay within NAME_MAX for the longest names', () => {
    const long = 'é'.repeat(127);
    const name = tempNameFor(long, 'abcdefgh', (2n ** 64n - 1n).toString(36));
    assert.ok(Buffer.byteLength(name) <= 255);
    assert.equal(isTempNameOf(name, new Set(['abcdefgh'])), true);
    const newline = tempNameFor('a\nb', 'abcdefgh', '0');
    assert.equal(isTempName(newline), true);
  });
});

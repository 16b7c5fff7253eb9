// A replica the web server can serve as it is: owners and groups (users and groups made
// for the test, and ids no name has), 0640 files, setgid directories, symlinks owned by
// someone else, mtimes to the nanosecond (directories' and symlinks' too), extended
// attributes (user.*, trusted.*, security.*) and POSIX ACLs (access and default), names and a
// link target that are not UTF-8 (GBK, Latin-1), hard links (across directories, one of
// them through the object store), through
// the real producer (--xattrs --acls) and applier as root. The oracle is rsync itself:
// `rsync -aHAXn --modify-window=-1 --delete --itemize-changes SRC/ REPLICA/` lists nothing,
// after live churn, after the applier is killed -9 in the middle of a burst, after a
// rebuild, after verify --repair, and for a restore.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { ensureCommand } from '../helpers/apt.ts';
import { defer } from '../helpers/cleanup.ts';
import { tempDir } from '../helpers/producer.ts';
import {
  applierArgs,
  producerArgs,
  runCli,
  stackFlags,
  startService,
  type ServiceProcess,
} from '../helpers/services.ts';
import { freshPrefix, freshTopic, waitFor } from '../helpers/stack.ts';

const run = promisify(execFile);

type Accounts = { user: string; group: string; uid: number; gid: number; www: number };

/** A user and a group of its own for this test, removed again at the end. */
async function makeAccounts(t: TestContext): Promise<Accounts> {
  const tag = randomBytes(3).toString('hex');
  const [user, group] = [`mlf${tag}u`, `mlf${tag}g`];
  await run('groupadd', [group]);
  defer(t, () => run('groupdel', [group]).then(() => undefined));
  await run('useradd', ['-M', '-N', '-g', group, '-s', '/usr/sbin/nologin', user]);
  defer(t, () => run('userdel', [user]).then(() => undefined));
  const id = async (flag: string) => Number((await run('id', [flag, user])).stdout.trim());
  const www = Number((await run('id', ['-u', 'www-data'])).stdout.trim());
  return { user, group, uid: await id('-u'), gid: await id('-g'), www };
}

/** What rsync would still change on the replica; empty when it is a faithful copy. */
async function rsyncChanges(source: string, replica: string): Promise<string[]> {
  // --modify-window=-1: times compared to the nanosecond (rsync's default is whole seconds).
  const args = ['-aHAXn', '--modify-window=-1', '--delete', '--itemize-changes', `${source}/`, `${replica}/`];
  try {
    const { stdout } = await run('rsync', args, { maxBuffer: 1 << 26 });
    // The target directory itself is the operator's: its own mtime is not the source root's
    // (README "What a replica preserves"); anything else about it still counts.
    return stdout.split('\n').filter((line) => line.trim() !== '' && line !== '.d..t...... ./');
  } catch (error) {
    // 24: an entry vanished while rsync read it (a temp file renamed into place): not settled yet.
    if ((error as { code?: number }).code === 24) return ['(entries vanished while rsync read the trees)'];
    throw error;
  }
}

async function waitForRsyncClean(source: string, replica: string, what: string, timeoutMs = 120_000): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      `${what}: rsync to find nothing to change`,
      async () => ((last = await rsyncChanges(source, replica)).length === 0 ? true : undefined),
      timeoutMs,
      300,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; rsync still lists:\n${last.slice(0, 40).join('\n')}`, {
      cause: error,
    });
  }
}

function write(file: string, content: string, mode: number, uid: number, gid: number): void {
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  fs.chownSync(file, uid, gid);
  // chown clears setuid/setgid bits of files: the mode is set again after it.
  fs.chmodSync(file, mode);
}

function mkdir(dir: string, mode: number, uid: number, gid: number): void {
  fs.mkdirSync(dir);
  fs.chownSync(dir, uid, gid);
  fs.chmodSync(dir, mode);
}

/** A path below `dir` whose name is raw bytes (GBK, Latin-1): Node's fs takes them as a Buffer. */
function bytePath(dir: string | Buffer, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(dir), Buffer.from('/'), name]);
}
const GBK_DIR = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]); // 中文
const GBK_FILE = Buffer.concat([Buffer.from([0xd0, 0xc2, 0xce, 0xc5]), Buffer.from('.html')]); // 新闻.html
const latin1 = (name: string) => Buffer.from(name, 'latin1');

/** A site of mixed owners: what a static server's tree holds. */
function buildSite(root: string, a: Accounts): void {
  const site = path.join(root, 'site');
  mkdir(site, 0o2775, a.uid, a.gid);
  write(path.join(site, 'index.html'), '<h1>home</h1>', 0o640, a.www, a.gid);
  write(path.join(site, 'robots.txt'), 'User-agent: *', 0o644, 0, 0);
  mkdir(path.join(site, 'img'), 0o2750, a.uid, a.www);
  for (let i = 0; i < 20; i++) write(path.join(site, 'img', `p${i}.jpg`), `jpg ${i}`, 0o640, a.uid, a.www);
  // Ids without a name on this machine travel as numbers.
  mkdir(path.join(site, 'private'), 0o700, 4242, 4243);
  write(path.join(site, 'private', 'key.pem'), 'secret', 0o600, 4242, 4243);
  write(path.join(site, 'private', 'big.bin'), 'x'.repeat(200_000), 0o640, 4242, a.gid);
  fs.symlinkSync('index.html', path.join(site, 'home'));
  fs.lchownSync(path.join(site, 'home'), a.uid, a.gid);
  // Times a deploy tool set, to the nanosecond, on a file, a link and directories (last: their entries are made).
  const stamped = ['index.html', 'home', 'img', 'private', ''].map((name) => path.join(site, name));
  // Hard links: a page under two names in two directories, a large file (through the store) under two.
  fs.linkSync(path.join(site, 'img', 'p1.jpg'), path.join(site, 'p1-alias.jpg'));
  fs.linkSync(path.join(site, 'private', 'big.bin'), path.join(site, 'big-alias.bin'));
  // A legacy site's names: GBK and Latin-1 bytes, and a link whose target is Latin-1.
  fs.mkdirSync(bytePath(site, GBK_DIR));
  fs.writeFileSync(bytePath(bytePath(site, GBK_DIR), GBK_FILE), 'news');
  fs.writeFileSync(bytePath(site, latin1('caf\xe9.html')), 'menu');
  fs.symlinkSync(latin1('caf\xe9.html'), bytePath(site, latin1('men\xfa')));
  // Attributes a web stack sets: a MIME type, a label, a deploy tool's mark; ACLs for the web server.
  execFileSync('setfattr', ['-n', 'user.mime_type', '-v', 'text/html', path.join(site, 'index.html')]);
  execFileSync('setfattr', ['-n', 'security.label', '-v', 'public', path.join(site, 'robots.txt')]);
  execFileSync('setfattr', ['-n', 'trusted.deployed-by', '-v', 'ci', path.join(site, 'img')]);
  execFileSync('setfacl', ['-m', 'u:www-data:r', path.join(site, 'private', 'key.pem')]);
  // A default ACL: what is created inside inherits it, on the source as on the replica.
  execFileSync('setfacl', ['-d', '-m', `g:${a.group}:rwx`, path.join(site, 'img')]);
  execFileSync('setfacl', ['-m', `g:${a.group}:rwx`, path.join(site, 'img')]);
  execFileSync('touch', ['-h', '-d', '2025-06-01T12:00:00.123456789Z', ...stamped]);
}

async function setup(t: TestContext) {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root (it makes users and gives files to them); run it as root');
  await ensureCommand('rsync', 'rsync', 'fidelity e2e');
  await ensureCommand('setfacl', 'acl', 'fidelity e2e');
  await ensureCommand('setfattr', 'attr', 'fidelity e2e');
  const accounts = await makeAccounts(t);
  const source = tempDir(t, 'fidelity-source');
  const replica = tempDir(t, 'fidelity-replica');
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const applierState = tempDir(t, 'fidelity-astate');
  const producer = await startService(t, 'producer', [
    ...producerArgs(source, tempDir(t, 'fidelity-pstate'), topic, prefix),
    '--xattrs',
    '--acls',
  ]);
  await producer.waitReady();
  const startApplier = async (extra: string[] = []): Promise<ServiceProcess> => {
    const applier = await startService(t, 'applier', [
      ...applierArgs(replica, applierState, 'faithful', topic, prefix),
      ...extra,
    ]);
    await applier.waitReady();
    return applier;
  };
  const cli = (command: string, extra: string[]) =>
    runCli([command, ...extra, '--allow-setid', ...stackFlags(topic, prefix), '--log-level', 'warn']);
  return { accounts, source, replica, applierState, startApplier, cli };
}

test(
  'owners, modes, times, xattrs, ACLs, byte names and hard links survive live churn, a kill -9 mid-burst ' +
    'and a rebuild (rsync -aHAX finds nothing); ' +
    'verify checks them, --repair and restore put them back',
  { timeout: 600_000 },
  async (t) => {
    const { accounts: a, source, replica, applierState, startApplier, cli } = await setup(t);
    buildSite(source, a);
    let applier = await startApplier();
    await waitForRsyncClean(source, replica, 'the first copy');
    assert.equal(fs.readFileSync(bytePath(bytePath(path.join(replica, 'site'), GBK_DIR), GBK_FILE), 'utf8'), 'news');
    const served = fs.statSync(path.join(replica, 'site/index.html'));
    assert.deepEqual([served.uid, served.gid, served.mode & 0o7777], [a.www, a.gid, 0o640]);
    assert.equal(fs.lstatSync(path.join(replica, 'site/home')).uid, a.uid, 'the symlink itself is owned');

    // Live churn: chown and chgrp alone, a new file given away at once, a directory renamed.
    const site = path.join(source, 'site');
    fs.chownSync(path.join(site, 'robots.txt'), a.www, a.www);
    fs.chownSync(path.join(site, 'img'), a.www, a.gid);
    fs.lchownSync(path.join(site, 'home'), 0, a.www);
    write(path.join(site, 'img', 'new.jpg'), 'new', 0o640, a.uid, a.www);
    fs.renameSync(path.join(site, 'private'), path.join(site, 'private-2'));
    // Hard links rewritten and chmod-ed through one name, one renamed, a new one made, one removed.
    fs.writeFileSync(path.join(site, 'p1-alias.jpg'), 'rewritten through one name');
    fs.chmodSync(path.join(site, 'img', 'p1.jpg'), 0o600);
    fs.renameSync(path.join(site, 'big-alias.bin'), path.join(site, 'img', 'big-alias.bin'));
    fs.linkSync(path.join(site, 'img', 'p2.jpg'), path.join(site, 'p2-alias.jpg'));
    fs.linkSync(path.join(site, 'img', 'p3.jpg'), path.join(site, 'p3-alias.jpg'));
    // Names that are not UTF-8 renamed, rewritten and made anew.
    fs.renameSync(bytePath(site, latin1('caf\xe9.html')), bytePath(site, latin1('cr\xe8me.html')));
    fs.writeFileSync(bytePath(bytePath(site, GBK_DIR), GBK_FILE), 'more news');
    fs.writeFileSync(bytePath(bytePath(site, GBK_DIR), latin1('\xe9t\xe9.html')), 'summer');
    // Attributes changed, added and removed alone, an ACL entry taken away.
    execFileSync('setfattr', ['-n', 'user.mime_type', '-v', 'text/html; charset=utf-8', path.join(site, 'index.html')]);
    execFileSync('setfattr', ['-x', 'security.label', path.join(site, 'robots.txt')]);
    execFileSync('setfattr', ['-h', '-n', 'trusted.link-note', '-v', 'kept', path.join(site, 'home')]);
    execFileSync('setfacl', ['-x', 'u:www-data', path.join(site, 'private-2', 'key.pem')]);
    execFileSync('setfacl', ['-m', 'u:www-data:rx', path.join(site, 'private-2')]);
    await waitForRsyncClean(source, replica, 'after live churn');
    const ino = (rel: string) => fs.statSync(path.join(replica, rel)).ino;
    assert.equal(ino('site/p1-alias.jpg'), ino('site/img/p1.jpg'), 'one inode on the replica too');
    fs.unlinkSync(path.join(site, 'p3-alias.jpg'));
    await waitForRsyncClean(source, replica, 'after a hard link was removed');
    // Rewritten in place through one name only: the kernel reports that name, the other follows.
    fs.writeFileSync(path.join(site, 'img', 'p2.jpg'), 'rewritten through the other name');
    await waitForRsyncClean(source, replica, 'after a rewrite through one name');
    assert.equal(fs.readFileSync(path.join(replica, 'site/p2-alias.jpg'), 'utf8'), 'rewritten through the other name');

    // A burst of files given to others, the applier killed -9 in the middle of it.
    const burst = path.join(site, 'burst');
    mkdir(burst, 0o2755, a.uid, a.gid);
    for (let i = 0; i < 1500; i++)
      write(
        path.join(burst, `f${i}.html`),
        `page ${i}`,
        i % 2 === 0 ? 0o640 : 0o644,
        i % 3 === 0 ? a.www : a.uid,
        a.gid,
      );
    // Every tenth file with an attribute of its own.
    const tenth = Array.from({ length: 150 }, (_, i) => path.join(burst, `f${i * 10}.html`));
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'burst', ...tenth]);
    await waitFor(
      'the applier to be in the middle of the burst',
      async () => (((await applier.metric('mirrorlog_applier_events_total')) ?? 0) > 300 ? true : undefined),
      120_000,
      20,
    );
    await applier.kill('SIGKILL');
    applier = await startApplier();
    await waitForRsyncClean(source, replica, 'after the applier was killed -9');

    // The replica's disk died: an empty target and state, rebuilt from the log.
    await applier.kill('SIGTERM');
    for (const dir of [replica, applierState])
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    applier = await startApplier(['--rebuild']);
    await waitForRsyncClean(source, replica, 'after a rebuild');

    // verify compares owners and times too, and --repair gives them back.
    await applier.kill('SIGTERM');
    const verify = (extra: string[] = []) =>
      cli('verify', ['--target', replica, '--replica', 'faithful', '--state-dir', applierState, '--hash', ...extra]);
    const clean = await verify();
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    fs.lchownSync(path.join(replica, 'site/index.html'), 0, 0);
    fs.utimesSync(path.join(replica, 'site/img'), new Date(0), new Date(0));
    execFileSync('setfattr', ['-x', 'user.mime_type', path.join(replica, 'site/index.html')]);
    execFileSync('setfacl', ['-b', path.join(replica, 'site/img')]);
    // A hard link broken: the same bytes and metadata, but a file of its own.
    const alias = path.join(replica, 'site/p1-alias.jpg');
    execFileSync('cp', ['-a', alias, `${alias}.copy`]);
    fs.renameSync(`${alias}.copy`, alias);
    const drift = await verify();
    assert.equal(drift.code, 1, drift.stdout + drift.stderr);
    assert.match(drift.stdout, new RegExp(`owner +"site/index.html" \\(expected ${a.www}:${a.gid}, found 0:0\\)`));
    assert.match(drift.stdout, /mtime +"site\/img"/);
    assert.match(drift.stdout, /xattrs +"site\/index.html" \(expected user.mime_type, found none\)/);
    assert.match(drift.stdout, /acl +"site\/img" \(expected access, default, found none\)/);
    assert.match(drift.stdout, /link +"site\/p1-alias.jpg" \(expected a hard link of site\/img\/p1.jpg/);
    const repaired = await verify(['--repair']);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.deepEqual(await rsyncChanges(source, replica), [], 'the repair put owners, times and attributes back');

    // restore builds the same tree, owners and times included.
    const restored = path.join(tempDir(t, 'fidelity-restore'), 'tree');
    const restore = await cli('restore', ['--target', restored, '--at', new Date().toISOString()]);
    assert.equal(restore.code, 0, restore.stdout + restore.stderr);
    // The directory restore made to hold the tree is the operator's, like a replica's target.
    fs.chmodSync(restored, fs.statSync(source).mode & 0o7777);
    assert.deepEqual(await rsyncChanges(source, restored), [], 'the restored tree is the source');
  },
);

// One behavioural contract for every SourceTree: run against the local filesystem and
// the memory tree in unit tests, so the tree the model test drives stays honest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { dirMayBeReplaced } from '../../services/producer/domain/diff.ts';
import type { SourceTree, WatchHint } from '../../services/producer/ports/source-tree.ts';
import { nameFromBytes } from '../../schemas/name-bytes.ts';

/** What a user does to the tree under test. */
export interface TreeWriter {
  mkdir(path: string): void;
  writeFile(path: string, content: string, mode?: number): void;
  symlink(path: string, target: string | Buffer): void;
  mkfifo(path: string): void;
  remove(path: string): void;
  rename(from: string, to: string): void;
  /** Sets the mtime to integer nanoseconds since the epoch. */
  setMtimeNs(path: string, ns: bigint): void;
  /** setxattr of the entry itself (a symlink not followed). */
  setXattr(path: string, name: string, value: string): void;
}

export interface SourceTreeUnderTest {
  readonly tree: SourceTree;
  readonly writer: TreeWriter;
  cleanup(): void;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function testSourceTree(name: string, factory: () => SourceTreeUnderTest): void {
  describe(`SourceTree contract: ${name}`, () => {
    const open = (t: { after: (fn: () => void) => void }) => {
      const subject = factory();
      t.after(() => subject.cleanup());
      return subject;
    };

    it('lstat tells each kind, with the permission bits, never following a link', (t) => {
      const { tree, writer } = open(t);
      writer.mkdir('d');
      writer.writeFile('d/f', 'hello', 0o640);
      writer.symlink('d/l', 'f');
      writer.mkfifo('d/p');
      const f = tree.lstat('d/f');
      assert.equal(f.kind, 'file');
      assert.equal(f.kind === 'file' && f.mode, 0o640);
      assert.equal(f.kind === 'file' && f.fingerprint.size, 5);
      assert.equal(tree.lstat('d').kind, 'dir');
      assert.equal(tree.lstat('d/l').kind, 'symlink');
      assert.equal(tree.lstat('d/p').kind, 'special');
      assert.equal(tree.lstat('d/none').kind, 'missing');
      assert.equal(tree.lstat('d/f/below').kind, 'missing');
    });

    it('an mtime just below the next millisecond is published as its own millisecond', (t) => {
      const { tree, writer } = open(t);
      writer.writeFile('f', 'x');
      // A double of ms since the epoch cannot hold this: truncating mtimeMs gave ...124.
      writer.setMtimeNs('f', 1_800_000_000_123_999_999n);
      const found = tree.lstat('f');
      assert.equal(found.kind === 'file' && found.mtimeMs, 1_800_000_000_123);
      writer.setMtimeNs('f', 1_800_000_000_000_000_000n);
      const exact = tree.lstat('f');
      assert.equal(exact.kind === 'file' && exact.mtimeMs, 1_800_000_000_000);
    });

    it('readAttributes gives the carried attributes of files, directories and links, none of a missing entry', (t) => {
      const { tree, writer } = open(t);
      writer.mkdir('d');
      writer.writeFile('d/f', 'x');
      writer.symlink('d/l', 'f');
      writer.setXattr('d/f', 'user.mime_type', 'text/html');
      writer.setXattr('d', 'trusted.origin', 'ci');
      writer.setXattr('d/l', 'trusted.link', 'own');
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const both = { xattrs: true, acl: true };
      assert.deepEqual(tree.readAttributes('d/f', both), {
        attributes: { xattrs: { 'user.mime_type': b64('text/html') }, acl: {} },
        dropped: [],
      });
      assert.deepEqual(tree.readAttributes('d', { xattrs: true, acl: false })?.attributes, {
        xattrs: { 'trusted.origin': b64('ci') },
      });
      assert.deepEqual(tree.readAttributes('d/l', both)?.attributes.xattrs, { 'trusted.link': b64('own') });
      assert.equal(tree.readAttributes('d/none', both), undefined);
    });

    it('readdir lists names with their kinds; a missing directory or a file is missing', (t) => {
      const { tree, writer } = open(t);
      writer.mkdir('d');
      writer.mkdir('d/sub');
      writer.writeFile('d/f', '');
      writer.symlink('d/l', 'nowhere');
      const listing = tree.readdir('d');
      assert.equal(listing.status, 'ok');
      const entries = listing.status === 'ok' ? [...listing.entries].sort((a, b) => (a.name < b.name ? -1 : 1)) : [];
      assert.deepEqual(entries, [
        { name: 'f', kind: 'file' },
        { name: 'l', kind: 'symlink' },
        { name: 'sub', kind: 'dir' },
      ]);
      assert.equal(tree.readdir('none').status, 'missing');
      assert.equal(tree.readdir('d/f').status, 'missing');
    });

    it('scan gives every name with what lstat says of it; a file or a missing directory is missing', (t) => {
      const { tree, writer } = open(t);
      const gbk = nameFromBytes(Buffer.from([0xd6, 0xd0, 0xce, 0xc4]));
      const escapedInUtf8 = nameFromBytes(Buffer.from('\uEF85.txt'));
      writer.mkdir('d');
      writer.mkdir('d/sub');
      writer.writeFile('d/f', 'hello', 0o640);
      writer.writeFile(`d/${gbk}`, 'gbk');
      writer.writeFile(`d/${escapedInUtf8}`, 'escaped');
      writer.setMtimeNs('d/f', 1_700_000_000_123_456_789n);
      writer.symlink('d/l', 'sub');
      writer.mkfifo('d/p');
      const scan = tree.scan('d');
      assert.ok(scan.status === 'ok');
      const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
      const expected = ['f', gbk, escapedInUtf8, 'l', 'p', 'sub'].map((name) => ({
        name,
        probe: tree.lstat(`d/${name}`),
      }));
      assert.deepEqual([...scan.entries].sort(byName), expected.sort(byName));
      const f = scan.entries.find(({ name }) => name === 'f')!.probe;
      assert.ok(f.kind === 'file');
      assert.equal(f.mode, 0o640);
      assert.equal(f.mtimeMs, 1_700_000_000_123);
      assert.equal(tree.scan('d/f').status, 'missing');
      assert.equal(tree.scan('none').status, 'missing');
      assert.deepEqual(tree.scan('d/sub'), { status: 'ok', entries: [] });
    });

    it('names that are not UTF-8 (GBK, Latin-1) are listed, stat-ed and read by their canonical text', async (t) => {
      const { tree, writer } = open(t);
      const gbk = nameFromBytes(Buffer.from([0xd6, 0xd0, 0xce, 0xc4]));
      const latin1 = nameFromBytes(Buffer.from('caf\xe9.html', 'latin1'));
      writer.mkdir(gbk);
      writer.writeFile(`${gbk}/${latin1}`, 'bonjour');
      writer.writeFile('plain.html', 'x');
      const names = (dir: string) => {
        const listing = tree.readdir(dir);
        return listing.status === 'ok' ? listing.entries.map((e) => `${e.kind} ${e.name}`).sort() : listing.status;
      };
      assert.deepEqual(names(''), [`dir ${gbk}`, 'file plain.html']);
      assert.deepEqual(names(gbk), [`file ${latin1}`]);
      const found = tree.lstat(`${gbk}/${latin1}`);
      assert.ok(found.kind === 'file');
      const read = await tree.readFile(`${gbk}/${latin1}`, found.fingerprint);
      assert.ok(read.status === 'ok');
      assert.equal(read.hash, sha256('bonjour'));
    });

    it('readlink gives the target verbatim, bytes that are not UTF-8 escaped', (t) => {
      const { tree, writer } = open(t);
      writer.symlink('l', '../outside/ü');
      writer.symlink('latin1', Buffer.from([0x61, 0xff, 0x62]));
      assert.deepEqual(tree.readlink('l'), { status: 'ok', target: '../outside/ü' });
      assert.deepEqual(tree.readlink('latin1'), { status: 'ok', target: 'a\uEFFFb' });
      assert.deepEqual(tree.readlink('none'), { status: 'missing' });
    });

    it('readFile hashes what it reads, and refuses a file that is not as lstat saw it', async (t) => {
      const { tree, writer } = open(t);
      writer.writeFile('f', 'content');
      const before = tree.lstat('f');
      assert.ok(before.kind === 'file');
      const read = await tree.readFile('f', before.fingerprint);
      assert.equal(read.status, 'ok');
      assert.ok(read.status === 'ok' && 'data' in read.content);
      assert.equal(read.status === 'ok' && read.hash, sha256('content'));
      assert.equal(read.status === 'ok' && read.content.data.toString(), 'content');
      writer.writeFile('f', 'content, longer');
      assert.equal((await tree.readFile('f', before.fingerprint)).status, 'changed');
      const snapshot = await tree.readFile('f', before.fingerprint, { snapshot: true });
      assert.equal(snapshot.status === 'ok' && snapshot.hash, sha256('content, longer'));
      assert.equal(snapshot.status === 'ok' && snapshot.size, 15);
      writer.remove('f');
      assert.equal((await tree.readFile('f', before.fingerprint)).status, 'missing');
    });

    it(
      'a directory removed and recreated under the same name may be another one; ' + 'a renamed one keeps its inode',
      (t) => {
        const { tree, writer } = open(t);
        writer.mkdir('d');
        const first = tree.lstat('d');
        writer.remove('d');
        writer.mkdir('d');
        const second = tree.lstat('d');
        assert.ok(first.kind === 'dir' && second.kind === 'dir');
        assert.equal(dirMayBeReplaced(first.fingerprint, second.fingerprint), true);
        writer.rename('d', 'e');
        const moved = tree.lstat('e');
        assert.equal(moved.kind === 'dir' && moved.fingerprint.ino, second.fingerprint.ino);
        assert.equal(dirMayBeReplaced(second.fingerprint, second.fingerprint), false);
      },
    );

    it(
      'watch reports changes; after a rename, ' + 'watchSubtree makes changes inside reported under the new path',
      async (t) => {
        const { tree, writer } = open(t);
        writer.mkdir('a');
        writer.mkdir('a/sub');
        const hints: WatchHint[] = [];
        const watch = await tree.watch(
          { onHints: (h) => hints.push(...h), onError: (e) => assert.fail(e), onOverflow: (why) => assert.fail(why) },
          { ignore: [], isExcluded: () => false },
        );
        t.after(() => watch.stop());
        writer.writeFile('a/f', '1');
        await eventually('the create of a/f', () => hints.some((h) => h.path === 'a/f'));
        writer.rename('a', 'b');
        await eventually('the rename', () => hints.some((h) => h.path === 'b'));
        await watch.watchSubtree('b', Date.now() + 1000);
        writer.writeFile('b/sub/g', '2');
        await eventually('the create of b/sub/g under its real path', () => hints.some((h) => h.path === 'b/sub/g'));
      },
    );
  });
}

// --exclude reads patterns as .gitignore does. The cases are the examples of the
// gitignore documentation (git-scm.com/docs/gitignore, "PATTERN FORMAT" and "EXAMPLES"),
// plus the ones rsync and gitignore users expect from issue 14.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createExcluder, watcherIgnorePaths } from '../../services/producer/domain/exclude.ts';

type Case = [patterns: string[], path: string, kind: 'dir' | 'file', excluded: boolean, why: string];

const CASES: Case[] = [
  // A pattern without a slash matches at any depth.
  [['*.tmp'], 'a.tmp', 'file', true, 'name glob at the root'],
  [['*.tmp'], 'deep/er/a.tmp', 'file', true, 'name glob at any depth'],
  [['.git'], 'vendor/lib/.git', 'dir', true, 'a dot name at any depth'],
  [['.git'], 'vendor/lib/.git/objects/ab', 'file', true, 'below a matching directory'],
  [['logs'], 'app/logs', 'file', true, 'a plain name matches files too'],
  [['hello.*'], 'sub/hello.c', 'file', true, '"hello.*" matches any name beginning with hello.'],
  [['hello.*'], 'sub/ahello.c', 'file', false, 'not a name merely containing it'],
  // A trailing slash: directories only.
  [['foo/'], 'foo', 'dir', true, '"foo/" matches a directory foo'],
  [['foo/'], 'foo/x/y', 'file', true, '"foo/" matches paths underneath it'],
  [['foo/'], 'foo', 'file', false, '"foo/" does not match a file foo'],
  [['frotz/'], 'a/frotz', 'dir', true, '"frotz/" matches a/frotz, a directory'],
  [['cache/'], 'x/cache/blob', 'file', true, 'issue 14: cache/ used to match nothing'],
  [['doc/frotz/'], 'doc/frotz', 'dir', true, '"doc/frotz/" matches doc/frotz'],
  [['doc/frotz/'], 'a/doc/frotz', 'dir', false, '"doc/frotz/" does not match a/doc/frotz'],
  // A leading or middle slash anchors.
  [['/doc/frotz'], 'doc/frotz', 'dir', true, '"/doc/frotz" is the same as "doc/frotz"'],
  [['doc/frotz'], 'a/doc/frotz', 'file', false, 'a middle slash anchors'],
  [['/*.c'], 'cat-file.c', 'file', true, '"/*.c" matches cat-file.c'],
  [['/*.c'], 'mozilla-sha1/sha1.c', 'file', false, '"/*.c" does not match mozilla-sha1/sha1.c'],
  [['/dir'], 'dir', 'dir', true, 'issue 14: /dir used to match nothing'],
  [['/dir'], 'x/dir', 'dir', false, 'an anchored pattern below the root'],
  [['Documentation/*.html'], 'Documentation/git.html', 'file', true, 'anchored name glob'],
  [['Documentation/*.html'], 'Documentation/ppc/ppc.html', 'file', false, '"*" does not match a slash'],
  [['Documentation/*.html'], 'tools/perf/Documentation/perf.html', 'file', false, 'anchored at the root only'],
  [['foo/*'], 'foo/test.json', 'file', true, '"foo/*" matches foo/test.json'],
  [['foo/*'], 'foo/bar', 'dir', true, '"foo/*" matches foo/bar, a directory'],
  [['foo/*'], 'foo', 'dir', false, '"foo/*" does not match foo itself'],
  // Two asterisks.
  [['**/foo'], 'a/b/foo', 'file', true, '"**/foo" matches foo anywhere'],
  [['**/foo'], 'foo', 'file', true, '"**/foo" matches foo at the root'],
  [['**/foo/bar'], 'x/foo/bar', 'dir', true, '"**/foo/bar" matches bar directly under any foo'],
  [['**/foo/bar'], 'foo/x/bar', 'file', false, '... and only directly under it'],
  [['abc/**'], 'abc/d/e.txt', 'file', true, '"abc/**" matches everything inside abc'],
  [['abc/**'], 'abc', 'dir', false, '... but not abc itself'],
  [['a/**/b'], 'a/b', 'file', true, '"a/**/b" matches a/b'],
  [['a/**/b'], 'a/x/b', 'file', true, '"a/**/b" matches a/x/b'],
  [['a/**/b'], 'a/x/y/b', 'file', true, '"a/**/b" matches a/x/y/b'],
  [['a/**/b'], 'b', 'file', false, 'anchored at a'],
  // Classes, ?, escapes.
  [['*.[oa]'], 'lib/x.o', 'file', true, '"*.[oa]" ignores objects'],
  [['*.[oa]'], 'lib/x.a', 'file', true, '"*.[oa]" ignores archives'],
  [['*.[oa]'], 'lib/x.c', 'file', false, 'not sources'],
  [['*.[!oa]'], 'x.c', 'file', true, 'a negated class'],
  [['?.txt'], 'a.txt', 'file', true, '"?" is one character'],
  [['?.txt'], 'ab.txt', 'file', false, '"?" is exactly one character'],
  [['\\#file'], '#file', 'file', true, 'an escaped hash is literal'],
  [['#file'], '#file', 'file', false, 'a leading hash is a comment'],
  [['\\!important!.txt'], '!important!.txt', 'file', true, 'an escaped ! is literal'],
  [['*.{tmp,swp}'], 'a/b.swp', 'file', true, 'alternation, kept from earlier versions'],
  // Negation: the last match wins, never below an excluded directory.
  [['*.html', '!foo.html'], 'foo.html', 'file', false, '"!foo.html" includes it again'],
  [['*.html', '!foo.html'], 'bar.html', 'file', true, 'others stay excluded'],
  [['/*', '!/foo', '/foo/*', '!/foo/bar'], 'foo/bar/x.c', 'file', false, 'everything except foo/bar: foo/bar stays'],
  [['/*', '!/foo', '/foo/*', '!/foo/bar'], 'foo/baz', 'file', true, 'everything except foo/bar: foo/baz goes'],
  [['/*', '!/foo', '/foo/*', '!/foo/bar'], 'top.txt', 'file', true, 'everything except foo/bar: the rest goes'],
  [['build/', '!build/keep.txt'], 'build/keep.txt', 'file', true, 'cannot include again below an excluded directory'],
];

test(`--exclude follows gitignore: ${CASES.length} cases from its documentation`, () => {
  const failures: string[] = [];
  for (const [patterns, path, kind, excluded, why] of CASES) {
    const actual = createExcluder(patterns)(path, kind === 'dir');
    if (actual !== excluded)
      failures.push(
        `${JSON.stringify(patterns)} ${path} (${kind}): expected ${excluded ? 'excluded' : 'kept'} (${why})`,
      );
  }
  assert.deepEqual(failures, []);
});

test('a directory-only pattern does not match a path of unknown kind itself, but does match its contents', () => {
  const excluded = createExcluder(['cache/']);
  assert.equal(excluded('cache'), false);
  assert.equal(excluded('cache/x'), true);
});

test('no patterns, blank ones and comments exclude nothing', () => {
  assert.equal(createExcluder([])('anything'), false);
  assert.equal(createExcluder(['', '   ', '# comment'])('anything', true), false);
});

test('the watcher skips anchored literal paths only, and nothing when a pattern includes again', () => {
  assert.deepEqual(watcherIgnorePaths(['/build', 'var/cache/', '*.tmp', 'logs']), ['build', 'var/cache']);
  assert.deepEqual(watcherIgnorePaths(['/build', '!/build/keep']), []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ancestorsOf,
  isBelow,
  parentOf,
  parseRelPath,
  RelPathSchema,
  type RelPathProblem,
} from '../../schemas/rel-path.ts';

test('valid and odd-but-valid paths are accepted as they are', () => {
  for (const path of [
    'a',
    'a/b/c',
    'c d/ü',
    'x\ny',
    '🙂/.hidden',
    '...',
    '..a',
    'a..',
    'a/.b',
    ' ',
    'a\\b',
    'é'.repeat(127),
  ]) {
    assert.deepEqual(parseRelPath(path), { ok: true, path });
  }
});

test('one trailing slash is dropped', () => {
  assert.deepEqual(parseRelPath('a/b/'), { ok: true, path: 'a/b' });
});

test('every unsafe path is rejected with its reason', () => {
  const cases: [unknown, RelPathProblem][] = [
    [42, 'not-a-string'],
    [null, 'not-a-string'],
    ['', 'empty'],
    ['/', 'absolute'],
    ['/etc/passwd', 'absolute'],
    ['a\0b', 'nul-byte'],
    ['a//b', 'empty-segment'],
    ['a/b//', 'empty-segment'],
    ['.', 'dot-segment'],
    ['a/./b', 'dot-segment'],
    ['..', 'dot-dot-segment'],
    ['../x', 'dot-dot-segment'],
    ['a/../../x', 'dot-dot-segment'],
    ['a/..', 'dot-dot-segment'],
    ['x'.repeat(256), 'segment-too-long'],
    ['é'.repeat(128), 'segment-too-long'],
    [Array.from({ length: 20 }, () => 'y'.repeat(250)).join('/'), 'path-too-long'],
    ['a\uD800b', 'not-unicode'],
    ['a\uDC00', 'not-unicode'],
  ];
  for (const [input, problem] of cases) {
    assert.deepEqual(parseRelPath(input), { ok: false, problem }, JSON.stringify(input));
  }
});

test('limits are inclusive: 255-byte segments and 4096-byte paths pass', () => {
  assert.equal(parseRelPath('x'.repeat(255)).ok, true);
  const base = Array.from({ length: 20 }, () => 'y'.repeat(200)).join('/');
  assert.equal(Buffer.byteLength(`${base}/${'z'.repeat(76)}`), 4096);
  assert.equal(parseRelPath(`${base}/${'z'.repeat(76)}`).ok, true);
  assert.deepEqual(parseRelPath(`${base}/${'z'.repeat(77)}`), { ok: false, problem: 'path-too-long' });
});

test('the zod schema names the problem', () => {
  const result = RelPathSchema.safeParse('../x');
  assert.equal(result.success, false);
  assert.match(result.error.issues[0]!.message, /'\.\.' segment/);
});

test('path helpers', () => {
  assert.equal(parentOf('a'), '');
  assert.equal(parentOf('a/b/c'), 'a/b');
  assert.deepEqual(ancestorsOf('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(ancestorsOf('a'), []);
  assert.equal(isBelow('a/b', 'a'), true);
  assert.equal(isBelow('ab', 'a'), false);
  assert.equal(isBelow('a', 'a'), false);
  assert.equal(isBelow('a', ''), true);
});

// Names as bytes and as the text that travels: lossless both ways, one text per byte string,
// and UTF-8 names left as they are.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  bytesOfName,
  fsPath,
  hasEscapedBytes,
  isCanonicalName,
  nameByteLength,
  nameFromBytes,
} from '../../schemas/name-bytes.ts';
import { parseRelPath } from '../../schemas/rel-path.ts';

const GBK = Buffer.from([0xd6, 0xd0, 0xce, 0xc4, 0x2e, 0x68, 0x74, 0x6d, 0x6c]); // 中文.html in GBK
const LATIN1 = Buffer.from('caf\xe9 cr\xe8me', 'latin1');

test('UTF-8 names stay as they are; other bytes of 0x80-0xFF become U+EF80-U+EFFF', () => {
  for (const name of ['index.html', 'ü x', '中文.html', '\uFFFD', '😀'])
    assert.equal(nameFromBytes(Buffer.from(name)), name);
  assert.equal(nameFromBytes(GBK), '\uEFD6\uEFD0\uEFCE\uEFC4.html');
  assert.equal(nameFromBytes(LATIN1), 'caf\uEFE9 cr\uEFE8me');
  // Overlong forms, surrogates and code points beyond U+10FFFF are not UTF-8: each byte escaped.
  assert.equal(nameFromBytes(Buffer.from([0xc0, 0xaf])), '\uEFC0\uEFAF');
  assert.equal(nameFromBytes(Buffer.from([0xed, 0xa0, 0x80])), '\uEFED\uEFA0\uEF80');
  assert.equal(nameFromBytes(Buffer.from([0xf4, 0x90, 0x80, 0x80])), '\uEFF4\uEF90\uEF80\uEF80');
  assert.equal(nameFromBytes(Buffer.from([0x61, 0xe4, 0xb8])), 'a\uEFE4\uEFB8', 'a sequence cut short');
});

test('a UTF-8 name holding U+EF80-U+EFFF itself travels with those bytes escaped, so nothing collides', () => {
  const privateUse = Buffer.from('\uEF80x');
  const text = nameFromBytes(privateUse);
  assert.equal(text, '\uEFEE\uEFBE\uEF80x');
  assert.notEqual(text, nameFromBytes(Buffer.from([0x80, 0x78])));
  assert.deepEqual(bytesOfName(text), privateUse);
});

test('every byte string comes back exactly, and its text is the canonical one', () => {
  for (let n = 0; n < 20_000; n++) {
    const bytes = randomBytes(1 + (n % 24));
    const text = nameFromBytes(bytes);
    assert.deepEqual(bytesOfName(text), bytes);
    assert.ok(isCanonicalName(text), JSON.stringify(text));
    assert.equal(nameByteLength(text), bytes.length);
  }
});

test('a text not the canonical form of its bytes is refused as a path: two texts never name one entry', () => {
  // "é" escaped byte by byte stands for the bytes of "é" itself.
  const spelledOut = '\uEFC3\uEFA9';
  assert.deepEqual(bytesOfName(spelledOut), Buffer.from('é'));
  assert.equal(isCanonicalName(spelledOut), false);
  assert.deepEqual(parseRelPath(`d/${spelledOut}`), { ok: false, problem: 'not-canonical' });
  assert.deepEqual(parseRelPath(`d/${nameFromBytes(GBK)}`), { ok: true, path: `d/${nameFromBytes(GBK)}` });
});

test('limits count the bytes on disk, an escaped byte as one', () => {
  const escaped255 = nameFromBytes(Buffer.alloc(255, 0xff));
  assert.equal(parseRelPath(escaped255).ok, true, '255 bytes, 765 as UTF-8 text');
  assert.deepEqual(parseRelPath(`${escaped255}\uEFFF`), { ok: false, problem: 'segment-too-long' });
  // The escapes never stand for '/', '.' or NUL: a segment stays a segment.
  assert.equal(hasEscapedBytes('a/b'), false);
  assert.deepEqual(bytesOfName(nameFromBytes(Buffer.from([0x2e, 0x2e, 0xff]))), Buffer.from([0x2e, 0x2e, 0xff]));
});

test('fsPath gives Node the text itself, or the bytes it stands for', () => {
  assert.equal(fsPath('/srv/www/a.html'), '/srv/www/a.html');
  assert.deepEqual(fsPath(`/srv/${nameFromBytes(GBK)}`), Buffer.concat([Buffer.from('/srv/'), GBK]));
});

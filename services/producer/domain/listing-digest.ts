// A digest of a directory's listing: every field a directory comparison reads of each
// child, in listing order. The index keeps, per directory, the digest of the last listing
// its children matched exactly, and forgets it on any write there; a walk that lists the
// same digest again knows the comparison's outcome without reading the children's rows
// (at 1M files those reads were the largest part of a restart).
import { createHash } from 'node:crypto';
import { attributesText } from '../../shared/attributes.ts';
import type { ListedChild } from './dir-compare.ts';

const KIND = { file: 1, dir: 2, symlink: 3, special: 4 } as const;
/** kind, mode, ino, size, mtime and ctime of the fingerprint, own mtime, uid, gid: one double each. */
const NUMBERS = 9;
const ABSENT = -1;

// Reused and hashed in pieces, so a directory of millions of children needs no more.
let scratch = Buffer.allocUnsafe(1 << 16);

/** sha256 of the listing's compared fields (32 bytes). Equal digests: equal listings, in the same order. */
export function listingDigest(listed: readonly ListedChild[]): Buffer {
  const hash = createHash('sha256');
  let at = 0;
  for (const child of listed) {
    const target = child.target ?? '';
    const attributes = child.attributes === undefined ? '' : (attributesText(child.attributes) ?? '');
    // UTF-8 needs at most 3 bytes per UTF-16 unit; 3 separators.
    const need = NUMBERS * 8 + 3 * (child.name.length + target.length + attributes.length) + 3;
    if (at + need > scratch.length) {
      hash.update(scratch.subarray(0, at));
      at = 0;
      if (need > scratch.length) scratch = Buffer.allocUnsafe(need); // one child with large attributes
    }
    const print = child.fingerprint;
    at = scratch.writeDoubleLE(KIND[child.kind], at);
    at = scratch.writeDoubleLE(child.mode ?? ABSENT, at);
    at = scratch.writeDoubleLE(print?.ino ?? ABSENT, at);
    at = scratch.writeDoubleLE(print?.size ?? ABSENT, at);
    at = scratch.writeDoubleLE(print?.mtimeMs ?? ABSENT, at);
    at = scratch.writeDoubleLE(print?.ctimeMs ?? ABSENT, at);
    at = scratch.writeDoubleLE(child.mtimeMs ?? ABSENT, at);
    at = scratch.writeDoubleLE(child.owner?.uid ?? ABSENT, at);
    at = scratch.writeDoubleLE(child.owner?.gid ?? ABSENT, at);
    // Separators keep "ab"+"c" apart from "a"+"bc"; names and targets hold no NUL, attributes are JSON.
    at += scratch.write(child.name, at, 'utf8');
    scratch[at++] = 0;
    at += scratch.write(target, at, 'utf8');
    scratch[at++] = child.target === undefined ? 1 : 0;
    at += scratch.write(attributes, at, 'utf8');
    scratch[at++] = child.attributes === undefined ? 1 : 0;
  }
  return hash.update(scratch.subarray(0, at)).digest();
}

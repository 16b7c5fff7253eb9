// Linux names are byte strings; what crosses the wire is text. A name that is valid UTF-8
// stays as it is. Any other byte of 0x80-0xFF (a GBK or Latin-1 name's) travels as one
// private-use character, U+EF80 + (byte - 0x80), and the applier's path resolution turns it
// back into that byte. The mapping is lossless and injective: a valid UTF-8 name that
// itself holds a character of U+EF80-U+EFFF travels with those characters' bytes escaped
// too, so every such character always stands for one byte, and only the canonical text of
// a byte string is accepted (rel-path.ts), so two texts never name one replica entry.
import { isUtf8 } from 'node:buffer';

const FIRST_ESCAPE = 0xef80;
const ESCAPED = /[\uEF80-\uEFFF]/;

/** Whether the text holds escaped bytes (or is not canonical: rel-path.ts checks that). */
export function hasEscapedBytes(text: string): boolean {
  return ESCAPED.test(text);
}

const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/** Length of the valid UTF-8 sequence at `i`, 0 when none starts there. */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return isContinuation(bytes[i + 1]) ? 2 : 0;
  const second = bytes[i + 1];
  if (lead >= 0xe0 && lead <= 0xef) {
    if (!isContinuation(second) || !isContinuation(bytes[i + 2])) return 0;
    if ((lead === 0xe0 && second! < 0xa0) || (lead === 0xed && second! > 0x9f)) return 0; // overlong, surrogate
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (!isContinuation(second) || !isContinuation(bytes[i + 2]) || !isContinuation(bytes[i + 3])) return 0;
    if ((lead === 0xf0 && second! < 0x90) || (lead === 0xf4 && second! > 0x8f)) return 0;
    return 4;
  }
  return 0;
}

/** The canonical text of a name (or a path, or a symlink target) read as bytes. */
export function nameFromBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) {
    const text = buffer.toString();
    if (!ESCAPED.test(text)) return text;
  }
  let text = '';
  let run = 0; // start of the pending valid run
  const escape = (from: number, to: number) => {
    text += buffer.toString('utf8', run, from);
    for (let j = from; j < to; j++) text += String.fromCharCode(FIRST_ESCAPE + buffer[j]! - 0x80);
    run = to;
  };
  for (let i = 0; i < buffer.length;) {
    const length = sequenceAt(buffer, i);
    // U+EF80-U+EFFF is EE BE 80 .. EE BF BF: such a character travels as its three bytes.
    if (length === 3 && buffer[i] === 0xee && buffer[i + 1]! >= 0xbe) escape(i, i + 3);
    else if (length === 0) escape(i, i + 1);
    i += length === 0 ? 1 : length;
  }
  return text + buffer.toString('utf8', run);
}

/** The bytes a canonical text stands for. */
export function bytesOfName(text: string): Buffer {
  if (!ESCAPED.test(text)) return Buffer.from(text);
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < FIRST_ESCAPE || code > 0xefff) continue;
    parts.push(Buffer.from(text.slice(run, i)), Buffer.of(code - FIRST_ESCAPE + 0x80));
    run = i + 1;
  }
  parts.push(Buffer.from(text.slice(run)));
  return Buffer.concat(parts);
}

/** Whether `text` is the one text its bytes travel as (any text without escapes is). */
export function isCanonicalName(text: string): boolean {
  return !ESCAPED.test(text) || nameFromBytes(bytesOfName(text)) === text;
}

/** A local path for Node's fs: the text itself, or the bytes it stands for. */
export function fsPath(text: string): string | Buffer {
  return ESCAPED.test(text) ? bytesOfName(text) : text;
}

/** How many bytes the name is on disk. */
export function nameByteLength(text: string): number {
  return ESCAPED.test(text) ? bytesOfName(text).length : Buffer.byteLength(text);
}

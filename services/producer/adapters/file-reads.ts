// Reading a file's bytes through an open descriptor: small files whole, large ones
// streamed through the hash.
import { createHash } from 'node:crypto';
import fs from 'node:fs';

/** Files up to this size are read whole (hash and upload the very same bytes); larger ones stream. */
export const SMALL_FILE_BYTES = 8 * 1024 * 1024;

export function readUpTo(fd: number, limit: number): Buffer {
  const buffer = Buffer.allocUnsafe(limit);
  let length = 0;
  while (length < limit) {
    const n = fs.readSync(fd, buffer, length, limit - length, length);
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function hashStream(fd: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream('', { fd, autoClose: false, start: 0, highWaterMark: 1024 * 1024 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

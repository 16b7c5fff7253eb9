// Getting one piece of content, verified, for the content supply: first a local copy (a
// file of the replica that the index says holds this hash: renames republish the same
// hash), then the object store. Every byte is verified against the sha256 and size before
// it is offered; a local candidate that does not match is skipped. Missing content is
// retried a few times (a producer uploads before it publishes, so absence is real
// trouble), then reported; a server error is retried until the server answers. Content
// up to `largeThreshold` bytes is returned in memory; larger content is staged in a file.
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fsat } from '../../shared/native/fsat.ts';
import { ContentMissingError, ContentTooLargeError, sha256Hex } from '../../shared/content-store.ts';
import type { ContentStore } from '../../shared/content-store.ts';
import type { Logger } from '../../shared/logger.ts';
import { backoffDelay, sleep } from '../../shared/retry.ts';
import type { Content } from './verified-content.ts';

export type ContentFailureReason = 'content-missing' | 'content-mismatch';

export interface AcquisitionOptions {
  readonly store: ContentStore;
  /**
   * Opens a replica file read-only without following anything (TargetRoot.openFile), or
   * undefined. The replica may have been changed by anyone: what it holds is verified.
   */
  readonly openLocal: (path: string) => number | undefined;
  /**
   * A new, unused, unpredictable path for a staged large file, in a directory only the
   * applier writes (never the replica). Staged files are created O_EXCL there.
   */
  readonly stagingPath: () => string;
  readonly largeThreshold: number;
  readonly missingRetries: number;
  readonly missingDelayMs: number;
  readonly logger: Pick<Logger, 'warn' | 'debug'>;
  readonly onAcquired?: (source: 'local' | 'store', bytes: number) => void;
}

/** Content of this size is held in memory; larger content is staged in a file. */
export function isHeldInMemory(size: number, o: Pick<AcquisitionOptions, 'largeThreshold'>): boolean {
  return size <= o.largeThreshold;
}

class MismatchError extends Error {}

/**
 * The content `hash` of `size` bytes, verified: from the first of `candidates` (relative
 * replica paths) that holds it, else from the store. Rejects when it is missing or does
 * not match, or once `signal` aborts.
 */
export async function acquireContent(
  hash: string,
  size: number,
  candidates: readonly string[],
  o: AcquisitionOptions,
  signal: AbortSignal,
): Promise<Content> {
  for (const candidate of candidates) {
    const local = await copyLocal(hash, size, candidate, o).catch(() => undefined);
    if (local !== undefined) {
      o.onAcquired?.('local', size);
      return local;
    }
  }
  const content = await download(hash, size, o, signal);
  o.onAcquired?.('store', size);
  return content;
}

/** Why an acquisition of `hash` failed, for the lane. */
export function acquisitionFailure(hash: string, error: unknown): { reason: ContentFailureReason; message: string } {
  if (error instanceof ContentMissingError) return { reason: 'content-missing', message: error.message };
  if (error instanceof MismatchError || error instanceof ContentTooLargeError)
    return { reason: 'content-mismatch', message: error.message };
  // Only reachable on close (server errors are retried): the outcome is never read.
  return { reason: 'content-missing', message: `acquisition of ${hash} stopped: ${String(error)}` };
}

/** The candidate's bytes if they are this content; undefined otherwise. */
async function copyLocal(
  hash: string,
  size: number,
  path: string,
  o: AcquisitionOptions,
): Promise<Content | undefined> {
  const fd = o.openLocal(path);
  if (fd === undefined) return undefined;
  let staged: string | undefined;
  let kept = false;
  try {
    if (fstatSync(fd).size !== size) return undefined;
    if (isHeldInMemory(size, o)) {
      const data = readAll(fd, size);
      return data !== undefined && sha256Hex(data) === hash ? { kind: 'buffer', data } : undefined;
    }
    staged = o.stagingPath();
    const out = openSync(staged, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      fsat.copyFileRange(fd, out, size);
    } finally {
      closeSync(out);
    }
    kept = (await hashFile(staged)) === hash;
    return kept ? { kind: 'file', path: staged, shared: false } : undefined;
  } finally {
    closeSync(fd);
    if (staged !== undefined && !kept) await rm(staged, { force: true });
  }
}

async function download(hash: string, size: number, o: AcquisitionOptions, signal: AbortSignal): Promise<Content> {
  let missing = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (isHeldInMemory(size, o)) {
        const data = await o.store.getBuffer(hash, size);
        if (data.length !== size || sha256Hex(data) !== hash)
          throw new MismatchError(`content ${hash} does not match its sha256 or size ${size}`);
        return { kind: 'buffer', data };
      }
      const staged = o.stagingPath();
      const got = await o.store.getToFile(hash, staged);
      if (got.size !== size || (await hashFile(staged)) !== hash) {
        await rm(staged, { force: true });
        throw new MismatchError(`content ${hash} does not match its sha256 or size ${size}`);
      }
      return { kind: 'file', path: staged, shared: false };
    } catch (error) {
      if (signal.aborted || error instanceof MismatchError || error instanceof ContentTooLargeError) throw error;
      if (error instanceof ContentMissingError) {
        if (missing++ >= o.missingRetries) throw error;
        await sleep(o.missingDelayMs * 2 ** (missing - 1), signal);
        continue;
      }
      const delayMs = backoffDelay(attempt, { minDelayMs: 200, maxDelayMs: 10_000 });
      o.logger.warn({ err: error, hash, retry: attempt, delayMs }, 'content download failed; retrying');
      await sleep(delayMs, signal);
    }
  }
}

/** Exactly `size` bytes from the start of `fd`, or undefined when it holds another amount. */
function readAll(fd: number, size: number): Buffer | undefined {
  const data = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    const n = readSync(fd, data, length, data.length - length, length);
    if (n === 0) break;
    length += n;
    if (length > size) return undefined;
  }
  return length === size ? data.subarray(0, size) : undefined;
}

async function hashFile(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

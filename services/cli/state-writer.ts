// Writes entries of the log's state into a directory with the applier's materializer
// (atomic writes, nothing followed, nothing outside the target): what `restore` builds
// and what `verify --repair` fixes. Content comes inline or from the store, verified
// against its sha256, fetched a few at a time while directories are made in order.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MirrorEvent, Owner } from '../../schemas/event.ts';
import type { Ownership } from '../applier/domain/owner-policy.ts';
import { exactNs } from '../applier/adapters/fs-primitives.ts';
import { FsMaterializer } from '../applier/adapters/fs-materializer.ts';
import { LinkSourceError } from '../applier/adapters/hard-link.ts';
import type { Content } from '../applier/adapters/verified-content.ts';
import { TargetRoot } from '../applier/adapters/target-root.ts';
import { newRunToken } from '../applier/domain/temp-name.ts';
import { ContentMismatchError, ContentMissingError, sha256Hex, type ContentStore } from '../shared/content-store.ts';
import { retry, type RetryOptions } from '../shared/retry.ts';

const IN_MEMORY_LIMIT = 8 * 1024 * 1024;

export type WriteStats = { dirs: number; files: number; symlinks: number; bytes: number };

export type StateWriterOptions = {
  readonly concurrency?: number;
  readonly allowSetid?: boolean;
  /** The replica's ids for an entry's owner (the applier's --owner policy); without: not chowned. */
  readonly ownership?: ((owner: Owner | undefined) => Ownership | undefined) | undefined;
  /** The log's mtime (ns) of a directory not written here whose entries were (verify --repair). */
  readonly dirMtime?: (dir: string) => bigint | undefined;
  /** A name the target already holds for a source inode (verify --repair links the others to it). */
  readonly linkedName?: (link: string) => { path: string; names: number } | undefined;
  /**
   * How often, and after what waits, content the store says it lacks is asked for again.
   * An S3-compatible store can answer 404 for an object it holds while it is overloaded or
   * failing over (SeaweedFS does), and the log only names content that was uploaded.
   */
  readonly missingRetry?: Pick<RetryOptions, 'retries' | 'minDelayMs' | 'maxDelayMs' | 'delay'>;
  readonly logger?: { warn(fields: object, message: string): void };
};

const MISSING_RETRY = { retries: 4, minDelayMs: 500, maxDelayMs: 4000 } as const;

export class StateWriter {
  private readonly fs: FsMaterializer;
  private readonly staging: string;
  private staged = 0;
  private readonly concurrency: number;
  private readonly dirMtime: (dir: string) => bigint | undefined;
  /** The mtimes (ns) of the directories written, set again once everything inside them is. */
  private readonly dirTimes = new Map<string, bigint>();
  /** Per source inode (a file's `link`), the name written for it and how many names it has here. */
  private readonly linkedNames = new Map<string, { path: string; names: number }>();
  private readonly linkedName: (link: string) => { path: string; names: number } | undefined;
  private readonly missingRetry: RetryOptions;
  readonly stats: WriteStats = { dirs: 0, files: 0, symlinks: 0, bytes: 0 };

  constructor(
    target: string,
    private readonly store: ContentStore,
    options: StateWriterOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.dirMtime = options.dirMtime ?? (() => undefined);
    this.linkedName = options.linkedName ?? (() => undefined);
    const logger = options.logger;
    this.missingRetry = {
      ...MISSING_RETRY,
      ...options.missingRetry,
      jitter: false,
      isRetryable: (error) => error instanceof ContentMissingError,
      onRetry: ({ error, retry: attempt, delayMs }) =>
        logger?.warn({ err: error, retry: attempt, delayMs }, 'the store lacks content the log names; asking again'),
    };
    this.fs = new FsMaterializer({
      root: new TargetRoot(target),
      journal: { noteDir: () => undefined },
      token: newRunToken(),
      fsyncFiles: false,
      allowSetid: options.allowSetid === true,
      ...(options.ownership === undefined ? {} : { ownership: options.ownership }),
    });
    // Large content is staged next to the target, so placing it is a rename.
    this.staging = fs.mkdtempSync(path.join(path.dirname(path.resolve(target)), '.mirrorlog-staging-'));
  }

  /**
   * Writes `entries` (parents before children: the log state's path order). Directories
   * are made as they come, files as their content arrives, symlinks last.
   */
  async write(entries: Iterable<MirrorEvent>, onProgress?: (stats: WriteStats) => void): Promise<void> {
    const symlinks: Extract<MirrorEvent, { op: 'symlink' }>[] = [];
    // Other names of an inode are linked once its first name is written.
    const links: Extract<MirrorEvent, { op: 'file' }>[] = [];
    const inFlight = new Set<Promise<void>>();
    for (const entry of entries) {
      if (entry.op === 'dir') {
        this.fs.mkdir(entry.path, entry.mode, entry);
        if (entry.mtimeMs !== undefined) this.dirTimes.set(entry.path, exactNs(entry.mtimeMs, entry.mtimeNs));
        this.stats.dirs++;
      } else if (entry.op === 'symlink') {
        symlinks.push(entry);
      } else if (entry.op === 'file' && this.deferredAsLink(entry)) {
        links.push(entry);
      } else if (entry.op === 'file') {
        const task = this.writeFile(entry).finally(() => inFlight.delete(task));
        inFlight.add(task);
        if (inFlight.size >= this.concurrency) await Promise.race(inFlight);
      }
      if ((this.stats.dirs + this.stats.files) % 1000 === 0) onProgress?.(this.stats);
    }
    await Promise.all(inFlight);
    for (const entry of links) await this.linkFile(entry);
    for (const link of symlinks) {
      this.fs.symlink(link.path, link.target, link);
      this.stats.symlinks++;
    }
    const { failed, lastError } = this.fs.restoreDirTimes((dir) => this.dirTimes.get(dir) ?? this.dirMtime(dir));
    if (failed > 0) throw new Error(`could not set the mtimes of ${failed} directories`, { cause: lastError });
    onProgress?.(this.stats);
  }

  /** Removes whatever is at `relPath` (an entry the log does not have). */
  remove(relPath: string): void {
    this.fs.remove(relPath);
  }

  close(): void {
    fs.rmSync(this.staging, { recursive: true, force: true });
  }

  /** Whether the entry is linked later to another name of its inode (written first); notes the first name. */
  private deferredAsLink(entry: Extract<MirrorEvent, { op: 'file' }>): boolean {
    if (entry.link === undefined) return false;
    if (this.linkedNames.has(entry.link)) return true;
    const existing = this.linkedName(entry.link);
    this.linkedNames.set(entry.link, existing ?? { path: entry.path, names: 1 });
    return existing !== undefined;
  }

  private async linkFile(entry: Extract<MirrorEvent, { op: 'file' }>): Promise<void> {
    const first = this.linkedNames.get(entry.link!)!;
    try {
      this.fs.link(entry.path, first.path, entry.size, first.names);
      first.names++;
      this.stats.files++;
    } catch (error) {
      if (!(error instanceof LinkSourceError)) throw error;
      await this.writeFile(entry);
    }
  }

  private async writeFile(entry: Extract<MirrorEvent, { op: 'file' }>): Promise<void> {
    const content = await this.content(entry);
    this.fs.write(entry.path, content, entry.mode, entry.mtimeMs, entry);
    this.stats.files++;
    this.stats.bytes += entry.size;
  }

  private async content(entry: Extract<MirrorEvent, { op: 'file' }>): Promise<Content> {
    if (entry.data !== undefined || entry.size <= IN_MEMORY_LIMIT) {
      const data =
        entry.data ?? (await retry(() => this.store.getBuffer(entry.hash, IN_MEMORY_LIMIT), this.missingRetry));
      if (data.length !== entry.size || sha256Hex(data) !== entry.hash)
        throw new ContentMismatchError(entry.hash, entry.size, sha256Hex(data), data.length);
      return { kind: 'buffer', data };
    }
    let staged = '';
    const { size } = await retry(() => {
      staged = path.join(this.staging, String(this.staged++));
      return this.store.getToFile(entry.hash, staged);
    }, this.missingRetry);
    const actual = await hashFile(staged);
    if (size !== entry.size || actual !== entry.hash)
      throw new ContentMismatchError(entry.hash, entry.size, actual, size);
    return { kind: 'file', path: staged, shared: false };
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

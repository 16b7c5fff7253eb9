// Examines one hinted path: what does the filesystem hold there now, compared with the
// index? Reads and uploads the content of files that changed, lists directories that
// appeared (so what they hold is examined too) and reports the observation to publish.
import path from 'node:path';
import type { EntryState } from '../../schemas/event.ts';
import { joinRel, parentOf, parseRelPath, type RelPath } from '../../schemas/rel-path.ts';
import type { Logger } from '../shared/logger.ts';
import type { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { listDir, probe, readFileContent, readLinkTarget } from './adapters/source-fs.ts';
import { compareDirectory } from './domain/dir-compare.ts';
import { fileMayHaveChanged, type Fingerprint } from './domain/diff.ts';
import type { Excluder } from './domain/exclude.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { Uploader } from './uploader.ts';

/**
 * What was found at a path, ready to be diffed against the index and published. `data`:
 * the bytes of a small file, published inline (never uploaded).
 */
export type Observation = { path: RelPath; observed: EntryState | undefined; fingerprint: Fingerprint | undefined; firstHintAt: number; data?: Buffer };

export type ExamineResult = { kind: 'observed'; observation: Observation } | { kind: 'retry' } | { kind: 'none' };

export type ExaminerDeps = {
  root: string;
  /** Files up to this size are published inline. */
  inlineMaxBytes: number;
  index: SqliteSourceIndex;
  uploader: Uploader;
  isExcluded: Excluder;
  metrics: ProducerMetrics;
  logger: Logger;
  /** Queue another path for examination. */
  hint: (path: string) => void;
  /** A directory new to the index holds subdirectories: they may be unwatched (see tree-watcher.ts). */
  watchSubtree: (dir: RelPath, changedAtMs: number) => void;
  /** A directory is about to be listed: the watcher watches it first. */
  beforeListing?: (dir: RelPath) => void;
  /** A directory new to the index: every entry in it is to be examined. */
  walkNewDirectory: (dir: RelPath) => void;
};

export class Examiner {
  constructor(private readonly deps: ExaminerDeps) {}

  async examine(rawPath: string, firstHintAt: number): Promise<ExamineResult> {
    const { deps } = this;
    if (deps.isExcluded(rawPath)) return { kind: 'none' };
    const parsed = parseRelPath(rawPath);
    if (!parsed.ok) {
      deps.metrics.skipped.inc({ reason: `path-${parsed.problem}` });
      deps.logger.warn({ path: rawPath, problem: parsed.problem }, 'path cannot be mirrored; skipped');
      return { kind: 'none' };
    }
    const relPath = parsed.path;
    const abs = path.join(deps.root, relPath);
    const found = probe(abs);
    const indexed = deps.index.get(relPath);
    const observe = (observed: EntryState | undefined, fingerprint?: Fingerprint, data?: Buffer): ExamineResult => ({
      kind: 'observed',
      observation: { path: relPath, observed, fingerprint, firstHintAt, ...(data === undefined ? {} : { data }) },
    });

    switch (found.kind) {
      case 'missing': {
        // A lost event may hide that a whole subtree went: look at the parent too.
        const parent = parentOf(relPath);
        if (parent !== '' && probe(path.join(deps.root, parent)).kind !== 'dir') deps.hint(parent);
        return indexed === undefined ? { kind: 'none' } : observe(undefined);
      }
      case 'special':
        deps.metrics.skipped.inc({ reason: 'special-file' });
        return indexed === undefined ? { kind: 'none' } : observe(undefined);
      case 'symlink': {
        const target = readLinkTarget(abs);
        if (target === undefined) {
          if (probe(abs).kind === 'symlink') deps.metrics.skipped.inc({ reason: 'link-target-not-utf8' });
          return { kind: 'retry' };
        }
        return observe({ kind: 'symlink', target });
      }
      case 'dir':
        this.examineDirectory(relPath, abs, indexed?.state.kind === 'dir', found.ctimeMs);
        return observe({ kind: 'dir', mode: found.mode });
      case 'file': {
        const { fingerprint, mode } = found;
        // Unchanged (nothing to publish): no need to read. Anything to publish is read, so
        // a small file's event always carries its bytes.
        if (indexed?.state.kind === 'file' && indexed.state.mode === mode && !fileMayHaveChanged(indexed.state, indexed.fingerprint, fingerprint)) {
          return observe(indexed.state, fingerprint);
        }
        const read = await readFileContent(abs, fingerprint);
        if (read.status !== 'ok') {
          if (read.status === 'changed') deps.metrics.retriedNotAtRest.inc();
          return { kind: 'retry' };
        }
        deps.metrics.filesHashed.inc();
        const state: EntryState = { kind: 'file', size: fingerprint.size, mode, mtimeMs: Math.trunc(fingerprint.mtimeMs), hash: read.hash };
        if (read.data !== undefined && read.data.length <= deps.inlineMaxBytes) return observe(state, fingerprint, read.data);
        const stored = await deps.uploader.ensureStored(read.hash, fingerprint.size, read.data !== undefined ? { data: read.data } : { file: abs });
        if (stored === 'changed') {
          deps.metrics.retriedNotAtRest.inc();
          return { kind: 'retry' };
        }
        return observe(state, fingerprint);
      }
    }
  }

  /**
   * A directory that is new to the index is walked: every child is examined. A known one
   * gets a names-only check against the index, which catches creates and deletes whose
   * events the kernel dropped.
   */
  private examineDirectory(relPath: RelPath, abs: string, known: boolean, changedAtMs: number): void {
    const { deps } = this;
    deps.beforeListing?.(relPath);
    const listing = listDir(abs);
    if (listing === undefined) return;
    if (listing.notUtf8 > 0) {
      deps.metrics.skipped.inc({ reason: 'name-not-utf8' }, listing.notUtf8);
      deps.logger.warn({ dir: relPath, count: listing.notUtf8 }, 'names that are not valid UTF-8 are not mirrored');
    }
    if (!known) {
      if (listing.entries.some((entry) => entry.kind === 'dir')) deps.watchSubtree(relPath, changedAtMs);
      deps.walkNewDirectory(relPath);
      return;
    }
    for (const name of compareDirectory(deps.index.childSummaries(relPath), listing.entries).changed) deps.hint(joinRel(relPath, name));
  }
}

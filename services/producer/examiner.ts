// Examines one hinted path: what does the source tree hold there now, compared with the
// index? The decision is domain/examine-plan.ts; this shell carries it out: reads and
// uploads the content of files that changed, lists directories (so what they hold is
// examined too), tells the watcher about new ones, and reports the observation to publish.
import type { EntryState, Owner } from '../../schemas/event.ts';
import type { Attributes } from '../../schemas/entry-attributes.ts';
import type { AttributeScope } from '../shared/attributes.ts';
import type { Accounts } from '../shared/accounts.ts';
import { joinRel, parentOf, parseRelPath, type RelPath } from '../../schemas/rel-path.ts';
import type { Logger } from '../shared/logger.ts';
import { compareDirectory } from './domain/dir-compare.ts';
import { sameState, type Fingerprint } from './domain/diff.ts';
import { planExamination } from './domain/examine-plan.ts';
import type { Excluder } from './domain/exclude.ts';
import type { Observation } from './domain/observation.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { SourceIndex } from './ports/source-index.ts';
import type { Probe, SourceTree } from './ports/source-tree.ts';
import type { Uploader } from './uploader.ts';

export type { Observation } from './domain/observation.ts';

/** `retry` with `changed`: the file was not at rest while read (the pipeline may ask for a snapshot later). */
export type ExamineResult =
  { kind: 'observed'; observation: Observation } | { kind: 'retry'; changed: boolean } | { kind: 'none' };

export type ExaminerDeps = {
  tree: SourceTree;
  /** Files up to this size are published inline. */
  inlineMaxBytes: number;
  index: SourceIndex;
  uploader: Uploader;
  isExcluded: Excluder;
  metrics: ProducerMetrics;
  logger: Logger;
  /** Queue another path for examination. */
  hint: (path: string) => void;
  /** A directory new to the index: make sure changes below it are reported under their real paths. */
  watchSubtree: (dir: RelPath, changedAtMs: number) => Promise<void>;
  /** A directory new to the index: every entry in it is to be examined (listed once `watched` settles). */
  walkNewDirectory: (dir: RelPath, watched: Promise<void>) => void;
  /** A path found gone (or no directory any more): what the watcher placed at or below it can go. */
  forgetWatches: (dir: RelPath) => void;
  /** Names of the owners' ids, carried beside them (absent: ids only). */
  accounts?: Pick<Accounts, 'userName' | 'groupName'>;
  /** Which attributes travel (--xattrs, --acls); absent: none. */
  attributes?: AttributeScope;
};

/** Entries that could not be read, remembered (up to a bound) so /metrics shows how many are skipped now. */
const MAX_TRACKED_UNREADABLE = 10_000;

export class Examiner {
  private readonly unreadable = new Set<string>();

  constructor(private readonly deps: ExaminerDeps) {}

  /** Paths currently skipped because they cannot be read. */
  get unreadableCount(): number {
    return this.unreadable.size;
  }

  async examine(rawPath: string, firstHintAt: number, options: { snapshot?: boolean } = {}): Promise<ExamineResult> {
    const { deps } = this;
    if (deps.isExcluded(rawPath)) return { kind: 'none' };
    const parsed = parseRelPath(rawPath);
    if (!parsed.ok) {
      deps.metrics.skipped.inc({ reason: `path-${parsed.problem}` });
      deps.logger.warn({ path: rawPath, problem: parsed.problem }, 'path cannot be mirrored; skipped');
      return { kind: 'none' };
    }
    const relPath = parsed.path;
    const found = deps.tree.lstat(relPath);
    // Patterns with a trailing '/' match directories only: known now.
    if (found.kind === 'dir' && deps.isExcluded(relPath, true)) return { kind: 'none' };
    const indexed = deps.index.get(relPath);
    // What is there now, with the owner (and a directory's or symlink's own mtime) lstat
    // gave: an indexed state kept may predate them.
    const now: { owner?: Owner; mtimeMs?: number; mtimeNs?: string; link?: string } & Attributes = {};
    if ('owner' in found && found.owner !== undefined) now.owner = this.named(found.owner);
    if ((found.kind === 'dir' || found.kind === 'symlink') && found.mtimeMs !== undefined) now.mtimeMs = found.mtimeMs;
    if ('mtimeNs' in found && found.mtimeNs !== undefined) now.mtimeNs = found.mtimeNs;
    if (found.kind === 'file' && found.link !== undefined) now.link = found.link;
    if (deps.attributes !== undefined && (found.kind === 'file' || found.kind === 'dir' || found.kind === 'symlink'))
      Object.assign(now, this.attributes(relPath, deps.attributes));
    // A file's state: the link identity as lstat gives it now (none: one name), never the index's.
    const owned = (state: EntryState): EntryState => {
      const next = { ...state, ...now };
      if (next.kind === 'file' && now.link === undefined) delete next.link;
      return next;
    };
    const observe = (observed: EntryState | undefined, fingerprint?: Fingerprint, data?: Buffer): ExamineResult => {
      this.readable(relPath);
      const state = observed === undefined ? undefined : owned(observed);
      if (state !== undefined) this.hintOtherLinks(relPath, state, indexed?.state);
      return {
        kind: 'observed',
        observation: {
          path: relPath,
          observed: state,
          fingerprint,
          firstHintAt,
          ...(data === undefined ? {} : { data }),
        },
      };
    };
    if (indexed?.state.kind === 'dir' && found.kind !== 'dir') deps.forgetWatches(relPath);
    const plan = planExamination(found, indexed);
    switch (plan.do) {
      case 'absent': {
        if (found.kind === 'special') deps.metrics.skipped.inc({ reason: 'special-file' });
        const parent = parentOf(relPath);
        if (plan.checkParent && parent !== '' && deps.tree.lstat(parent).kind !== 'dir') deps.hint(parent);
        this.readable(relPath);
        return plan.publish ? observe(undefined) : { kind: 'none' };
      }
      case 'skip-unreadable':
        return this.skipUnreadable(relPath, plan.code);
      case 'read-link': {
        const link = deps.tree.readlink(relPath);
        if (link.status === 'ok') return observe({ kind: 'symlink', target: link.target });
        return { kind: 'retry', changed: false }; // changed since lstat: look again
      }
      case 'examine-dir': {
        const dir = found as Extract<Probe, { kind: 'dir' }>;
        const listed = this.examineDirectory(relPath, plan.how, dir.fingerprint.ctimeMs);
        // A directory that cannot be listed is still published (its mode is known), and stays counted.
        const observation = {
          path: relPath,
          observed: owned({ kind: 'dir', mode: dir.mode }),
          fingerprint: dir.fingerprint,
          firstHintAt,
        };
        return listed ? observe(observation.observed, dir.fingerprint) : { kind: 'observed', observation };
      }
      case 'keep-file':
        return observe(indexed!.state, (found as Extract<Probe, { kind: 'file' }>).fingerprint);
      case 'read-file':
        return this.readFile(relPath, found as Extract<Probe, { kind: 'file' }>, options.snapshot === true, observe);
      default: {
        const unknown: never = plan;
        throw new Error(`unknown plan ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async readFile(
    relPath: RelPath,
    found: Extract<Probe, { kind: 'file' }>,
    snapshot: boolean,
    observe: (observed: EntryState, fingerprint: Fingerprint, data?: Buffer) => ExamineResult,
  ): Promise<ExamineResult> {
    const { deps } = this;
    const { fingerprint, mode } = found;
    const read = await deps.tree.readFile(relPath, fingerprint, { snapshot });
    if (read.status === 'unreadable') return this.skipUnreadable(relPath, read.code);
    if (read.status !== 'ok') {
      if (read.status === 'changed') deps.metrics.retriedNotAtRest.inc();
      return { kind: 'retry', changed: read.status === 'changed' };
    }
    if (snapshot) deps.metrics.snapshotReads.inc();
    deps.metrics.filesHashed.inc();
    const state: EntryState = { kind: 'file', size: read.size, mode, mtimeMs: found.mtimeMs, hash: read.hash };
    const { content } = read;
    // A snapshot's stat is not the file's (it moved on): no fingerprint, so the next look reads it again.
    const seenWith = snapshot ? undefined : fingerprint;
    try {
      if ('data' in content && content.data.length <= deps.inlineMaxBytes)
        return observe(state, seenWith!, content.data);
      const stored = await deps.uploader.ensureStored(read.hash, read.size, content);
      if (stored === 'changed') {
        deps.metrics.retriedNotAtRest.inc();
        return { kind: 'retry', changed: true };
      }
      return observe(state, seenWith!);
    } finally {
      if ('release' in content) content.release?.();
    }
  }

  /**
   * A change made through one name of a hard-linked inode (a rewrite, a chmod) is reported
   * for that name only: the other names the index holds for the inode are examined too.
   * Only when this name's state changed, so the names never hint one another for ever.
   */
  private hintOtherLinks(relPath: RelPath, observed: EntryState, indexed: EntryState | undefined): void {
    if (observed.kind !== 'file' || observed.link === undefined) return;
    if (indexed !== undefined && sameState(indexed, observed)) return;
    for (const other of this.deps.index.linkedPaths(observed.link)) if (other !== relPath) this.deps.hint(other);
  }

  /** What travels of the entry's attributes; what cannot is counted and logged. */
  private attributes(relPath: RelPath, scope: AttributeScope): Attributes {
    const read = this.deps.tree.readAttributes(relPath, scope);
    if (read === undefined) return {};
    for (const reason of new Set(read.dropped)) {
      this.deps.metrics.skipped.inc({ reason: `xattr-${reason}` });
      this.deps.logger.warn(
        { path: relPath, reason },
        reason === 'too-large'
          ? 'extended attributes too large to travel; the replica keeps its own for this entry'
          : 'an extended attribute cannot travel (its name); it is left out',
      );
    }
    return read.attributes;
  }

  private named(owner: Owner): Owner {
    const user = this.deps.accounts?.userName(owner.uid);
    const group = this.deps.accounts?.groupName(owner.gid);
    return {
      uid: owner.uid,
      gid: owner.gid,
      ...(user === undefined ? {} : { user }),
      ...(group === undefined ? {} : { group }),
    };
  }

  private skipUnreadable(relPath: RelPath, code: string): ExamineResult {
    const { deps } = this;
    deps.metrics.skipped.inc({ reason: 'unreadable' });
    if (!this.unreadable.has(relPath) && this.unreadable.size < MAX_TRACKED_UNREADABLE) {
      this.unreadable.add(relPath);
      deps.logger.warn({ path: relPath, code }, 'cannot read this entry; skipped (what was published of it stays)');
    }
    deps.metrics.unreadable.set(this.unreadable.size);
    return { kind: 'none' };
  }

  private readable(relPath: RelPath): void {
    if (this.unreadable.delete(relPath)) this.deps.metrics.unreadable.set(this.unreadable.size);
  }

  /** Lists a directory and has its children examined (see ExaminePlan `examine-dir`). */
  private examineDirectory(relPath: RelPath, how: 'new' | 'names-only', changedAtMs: number): boolean {
    const { deps } = this;
    const listing = deps.tree.readdir(relPath);
    if (listing.status === 'missing') return true;
    if (listing.status === 'unreadable') {
      this.skipUnreadable(relPath, listing.code);
      return false;
    }
    const indexed = deps.index.childSummaries(relPath);
    const listed = listing.entries.filter(({ name, kind }) => !deps.isExcluded(joinRel(relPath, name), kind === 'dir'));
    if (how === 'new') {
      // Perhaps another directory under a known name: what the index holds of the old one
      // and is not here any more goes (the walk examines everything that is here).
      const here = new Set(listed.map(({ name }) => name));
      for (const { name } of indexed) if (!here.has(name)) deps.hint(joinRel(relPath, name));
      deps.walkNewDirectory(relPath, deps.watchSubtree(relPath, changedAtMs));
      return true;
    }
    for (const name of compareDirectory(indexed, listed).changed) deps.hint(joinRel(relPath, name));
    return true;
  }
}

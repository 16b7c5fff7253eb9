// Sees files arrive on a replica as they arrive: fs.watch (inotify) on every directory
// that is expected to receive a file, and at each notification a check of exactly the
// expected path: a regular file of the expected size and, when a hash is given, the
// expected sha256. The applier renames complete files into place, so one notification per
// file is enough; directories that do not exist yet are awaited through their parent.
// A slow sweep (readdir of the watched directories still waiting) is the safety net for a
// missed notification (an inotify queue overflow in this process). An arrival found by a
// sweep, or by the scan of a directory just watched, is dated by the file's ctime (set by
// the rename that put it in place) when that is earlier than the time it was found.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { nowMs } from './clock.ts';

export interface ExpectedFile {
  /** Relative to the replica root, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** sha256 hex of the content; when absent only type and size are checked. */
  readonly hash?: string;
}

export type DetectedVia = 'event' | 'scan' | 'sweep';

export interface Arrival {
  readonly path: string;
  /** nowMs() when the notification that found the file complete came in (see above for scans and sweeps). */
  readonly at: number;
  readonly via: DetectedVia;
}

interface Pending {
  readonly expected: ExpectedFile;
  readonly onArrive: ((arrival: Arrival) => void) | undefined;
  /** Why the last check did not accept the file (for the timeout message). */
  lastMismatch?: string;
}

interface DirState {
  readonly rel: string;
  watcher: FSWatcher | undefined;
  readonly pending: Map<string, Pending>;
  /** Names of child directories some expectation is waiting for. */
  readonly awaitedChildren: Set<string>;
}

export interface WaitOptions {
  /** Names what is awaited, for the error message. */
  readonly what: string;
  /** Fail when no file arrived for this long. */
  readonly stallMs: number;
  /** Fail after this long in any case. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** Returns a reason to give up now (e.g. the applier exited), checked at every poll. */
  readonly abort?: () => string | undefined;
}

function splitPath(path: string): [dir: string, name: string] {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

export class ReplicaWatcher {
  readonly #root: string;
  readonly #dirs = new Map<string, DirState>();
  readonly #sweepTimer: NodeJS.Timeout;
  #pending = 0;
  #arrived = 0;
  #lastArrivalAt = nowMs();
  /** When something last arrived, by the clock (for stall detection). */
  #lastProgressAt = nowMs();
  #lastVia: DetectedVia | undefined;
  #closed = false;
  readonly viaCounts: Record<DetectedVia, number> = { event: 0, scan: 0, sweep: 0 };

  constructor(root: string, options: { sweepMs?: number } = {}) {
    this.#root = root;
    if (!lstatSync(root).isDirectory()) throw new Error(`replica root ${root} is not a directory`);
    this.#sweepTimer = setInterval(() => this.#sweep(), options.sweepMs ?? 1000);
    this.#sweepTimer.unref();
  }

  get pendingCount(): number {
    return this.#pending;
  }

  get arrivedCount(): number {
    return this.#arrived;
  }

  get lastArrivalAt(): number {
    return this.#lastArrivalAt;
  }

  /** How the latest arrival was found. */
  get lastVia(): DetectedVia | undefined {
    return this.#lastVia;
  }

  /** Starts waiting for one file; `onArrive` is called once, when it is there complete. */
  expect(expected: ExpectedFile, onArrive?: (arrival: Arrival) => void): void {
    if (this.#closed) throw new Error('replica watcher is closed');
    const [dir, name] = splitPath(expected.path);
    const state = this.#dir(dir);
    if (state.pending.has(name)) throw new Error(`already waiting for ${expected.path}`);
    state.pending.set(name, { expected, onArrive });
    this.#pending++;
    // A directory that is not watched yet but already has expectations is awaited through
    // its parent already (or retried by the sweep): no need to look for it again.
    if (state.watcher === undefined && state.pending.size > 1) return;
    if (this.#ensureWatching(state)) this.#check(state, name, nowMs(), 'scan');
  }

  /** Resolves with the arrival of one file. */
  arrival(expected: ExpectedFile): Promise<Arrival> {
    return new Promise((resolve) => this.expect(expected, resolve));
  }

  /** Up to `limit` paths still awaited, each with why it is not accepted yet. */
  missing(limit = 10): string[] {
    const out: string[] = [];
    for (const state of this.#dirs.values()) {
      for (const pending of state.pending.values()) {
        if (out.length >= limit) return out;
        const why = pending.lastMismatch ?? (state.watcher === undefined ? 'its directory does not exist' : 'absent');
        out.push(`${pending.expected.path} (${why})`);
      }
    }
    return out;
  }

  /** Resolves when nothing is pending; rejects naming what is missing after a stall or the timeout. */
  async whenAllArrived(options: WaitOptions): Promise<number> {
    const started = nowMs();
    const poll = options.pollMs ?? 20;
    while (this.#pending > 0) {
      const reason = options.abort?.();
      if (reason !== undefined)
        throw new Error(`${options.what}: ${this.#pending} files not on the replica: ${reason}`);
      const now = nowMs();
      const stalled = now - Math.max(this.#lastProgressAt, started) > options.stallMs;
      if (stalled || now - started > options.timeoutMs) {
        const reason = stalled
          ? `no file arrived for ${(options.stallMs / 1000).toFixed(0)} s`
          : `timeout of ${(options.timeoutMs / 1000).toFixed(0)} s`;
        throw new Error(
          `${options.what}: ${this.#pending} of ${this.#pending + this.#arrived} files ` +
            `not on the replica (${reason}); ` +
            `first missing: ${this.missing(5).join(', ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
    return this.#lastArrivalAt;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const state of this.#dirs.values()) state.watcher?.close();
    this.#dirs.clear();
  }

  #dir(rel: string): DirState {
    let state = this.#dirs.get(rel);
    if (state === undefined) {
      state = { rel, watcher: undefined, pending: new Map(), awaitedChildren: new Set() };
      this.#dirs.set(rel, state);
    }
    return state;
  }

  /** Watches the directory if it exists (scanning what it already holds), else awaits it through its parent. */
  #ensureWatching(state: DirState, via: DetectedVia = 'scan'): boolean {
    if (state.watcher !== undefined) return true;
    const abs = state.rel === '' ? this.#root : join(this.#root, state.rel);
    try {
      if (!lstatSync(abs).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      const watcher = watch(abs, { persistent: false }, (_type, filename) => this.#onEvent(state, filename));
      watcher.on('error', () => {
        watcher.close();
        if (state.watcher === watcher) state.watcher = undefined;
        if (state.rel !== '') {
          const [parentRel, name] = splitPath(state.rel);
          this.#dir(parentRel).awaitedChildren.add(name); // the sweep of the parent looks again
        }
      });
      state.watcher = watcher;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      if (state.rel === '') throw new Error(`replica root ${this.#root} vanished`);
      const [parentRel, name] = splitPath(state.rel);
      const parent = this.#dir(parentRel);
      parent.awaitedChildren.add(name);
      this.#ensureWatching(parent, via);
      return false;
    }
    if (state.rel !== '') {
      const [parentRel, name] = splitPath(state.rel);
      this.#dirs.get(parentRel)?.awaitedChildren.delete(name);
    }
    this.#scan(state, nowMs(), via);
    return true;
  }

  #onEvent(state: DirState, filename: string | Buffer | null): void {
    const at = nowMs();
    if (filename === null) {
      this.#scan(state, at, 'event');
      return;
    }
    const name = filename.toString();
    if (state.pending.has(name)) this.#check(state, name, at, 'event');
    if (state.awaitedChildren.has(name)) {
      const child = this.#dirs.get(state.rel === '' ? name : `${state.rel}/${name}`);
      if (child !== undefined) this.#ensureWatching(child);
    }
  }

  #scan(state: DirState, at: number, via: DetectedVia): void {
    if (state.pending.size === 0 && state.awaitedChildren.size === 0) return;
    for (const name of [...state.pending.keys()]) this.#check(state, name, at, via);
    for (const name of [...state.awaitedChildren]) {
      const child = this.#dirs.get(state.rel === '' ? name : `${state.rel}/${name}`);
      if (child !== undefined) this.#ensureWatching(child, via);
    }
  }

  #check(state: DirState, name: string, at: number, via: DetectedVia): void {
    const pending = state.pending.get(name);
    if (pending === undefined) return;
    const { expected } = pending;
    const abs = join(this.#root, expected.path);
    let ctimeMs: number;
    try {
      const stat = lstatSync(abs);
      ctimeMs = stat.ctimeMs;
      if (!stat.isFile()) {
        pending.lastMismatch = 'not a regular file';
        return;
      }
      if (stat.size !== expected.size) {
        pending.lastMismatch = `size ${stat.size}, expected ${expected.size}`;
        return;
      }
      if (expected.hash !== undefined) {
        const actual = createHash('sha256').update(readFileSync(abs)).digest('hex');
        if (actual !== expected.hash) {
          pending.lastMismatch = `content sha256 ${actual.slice(0, 12)}…, expected ${expected.hash.slice(0, 12)}…`;
          return;
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    const when = via === 'event' ? at : Math.min(at, ctimeMs);
    state.pending.delete(name);
    this.#pending--;
    this.#arrived++;
    this.#lastProgressAt = at;
    if (when >= this.#lastArrivalAt || this.#arrived === 1) {
      this.#lastArrivalAt = when;
      this.#lastVia = via;
    }
    this.viaCounts[via]++;
    pending.onArrive?.({ path: expected.path, at: when, via });
  }

  /**
   * Looks again at every watched directory still waiting for something. Directories not
   * watched yet are awaited by their parent, so the parent's sweep finds them.
   */
  #sweep(): void {
    const at = nowMs();
    for (const state of [...this.#dirs.values()]) {
      if (state.watcher === undefined) {
        if (state.rel === '') this.#ensureWatching(state, 'sweep');
        continue;
      }
      if (state.pending.size === 0 && state.awaitedChildren.size === 0) continue;
      this.#sweepDir(state, at);
    }
  }

  /** One readdir, then a check of each awaited name that is listed. */
  #sweepDir(state: DirState, at: number): void {
    let names: Set<string>;
    try {
      names = new Set(readdirSync(state.rel === '' ? this.#root : join(this.#root, state.rel)));
    } catch {
      return;
    }
    for (const name of [...state.pending.keys()]) if (names.has(name)) this.#check(state, name, at, 'sweep');
    for (const name of [...state.awaitedChildren]) {
      if (!names.has(name)) continue;
      const child = this.#dirs.get(state.rel === '' ? name : `${state.rel}/${name}`);
      if (child !== undefined) this.#ensureWatching(child, 'sweep');
    }
  }
}

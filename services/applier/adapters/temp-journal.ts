// Where the applier may have left temp files if it died: the directories it created
// temp files in since its last durability point, and its run token. A temp file lives
// only between its creation and its rename (microseconds, for small files), but a
// kill -9 can land in between; the next start removes those leftovers, in exactly
// these directories and matching exactly that token (never a bare pattern).
//
// One write() per directory per durability period, no fsync: a process crash keeps the
// page cache, and after a power loss a leftover temp file is invisible under any final
// name anyway (verify ignores the temp pattern).
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

const SEPARATOR = '\0';

export type JournalContents = { tokens: Set<string>; dirs: Set<string> };

/** Reads a journal left by earlier runs; empty when there is none. */
export function readTempJournal(file: string): JournalContents {
  const contents: JournalContents = { tokens: new Set(), dirs: new Set() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return contents;
    throw error;
  }
  for (const record of text.split(SEPARATOR)) {
    if (record.startsWith('t:')) contents.tokens.add(record.slice(2));
    else if (record.startsWith('d:')) contents.dirs.add(record.slice(2));
  }
  return contents;
}

export class TempJournal {
  private readonly fd: number;
  private readonly noted = new Set<string>();

  /** Starts a fresh journal for the run holding `tokens` (what the file held is gone: read it first). */
  constructor(
    file: string,
    private readonly tokens: readonly string[],
  ) {
    // O_APPEND: after a truncation, writes start again at offset 0.
    this.fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
    this.writeHeader();
  }

  /** Records that temp files may appear in `relDir` ('' is the target root). */
  noteDir(relDir: string): void {
    if (this.noted.has(relDir)) return;
    this.noted.add(relDir);
    writeSync(this.fd, `d:${relDir}${SEPARATOR}`);
  }

  /** After a durability point: no temp file of this run exists any more, except in `keep`. */
  reset(keep: Iterable<string> = []): void {
    ftruncateSync(this.fd, 0);
    this.noted.clear();
    this.writeHeader();
    for (const dir of keep) this.noteDir(dir);
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeHeader(): void {
    writeSync(this.fd, this.tokens.map((token) => `t:${token}${SEPARATOR}`).join(''));
  }
}

// The tree a producer mirrors: its root as given on the command line, checked and made
// canonical, and the source id derived from it when none is given.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../shared/errors.ts';

/** A stable id for a root on this host: `<hostname>-<8 hex of the root path>`. */
export function defaultSourceId(root: string): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 60) || 'host';
  return `${host}-${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
}

export function resolveRoot(root: string): string {
  const resolved = path.resolve(root);
  let stats: fs.Stats;
  try {
    stats = fs.statSync(resolved);
  } catch {
    throw new CliError(`--root ${resolved} does not exist`);
  }
  if (!stats.isDirectory()) throw new CliError(`--root ${resolved} is not a directory`);
  return fs.realpathSync(resolved);
}

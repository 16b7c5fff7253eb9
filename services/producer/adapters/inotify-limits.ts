// The kernel limits inotify lives within. Too few watches and directories go unwatched
// silently; too short a queue and bursts lose events silently. mirrorlog's reconcile
// catches up either way, but only slowly, so the operator is told how to raise them.
import fs from 'node:fs';

export type InotifyLimits = { maxUserWatches: number | undefined; maxQueuedEvents: number | undefined };

const PROC = '/proc/sys/fs/inotify';
export const RECOMMENDED_QUEUED_EVENTS = 65_536;

function readNumber(file: string): number | undefined {
  try {
    const value = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function readInotifyLimits(): InotifyLimits {
  return {
    maxUserWatches: readNumber(`${PROC}/max_user_watches`),
    maxQueuedEvents: readNumber(`${PROC}/max_queued_events`),
  };
}

/** Warnings (with the sysctl that fixes each) for a tree of `directories` directories. */
export function inotifyWarnings(limits: InotifyLimits, directories: number): string[] {
  const warnings: string[] = [];
  const wantedWatches = Math.ceil(directories * 1.25) + 1024;
  if (limits.maxUserWatches !== undefined && limits.maxUserWatches < wantedWatches) {
    warnings.push(
      `fs.inotify.max_user_watches is ${limits.maxUserWatches} but the tree has ${directories} directories ` +
        '(one watch each): directories beyond the limit are not watched ' +
        'and their changes are only found by the periodic reconcile. ' +
        `Raise it: sysctl -w fs.inotify.max_user_watches=${wantedWatches} (persist in /etc/sysctl.d/90-mirrorlog.conf)`,
    );
  }
  if (limits.maxQueuedEvents !== undefined && limits.maxQueuedEvents < RECOMMENDED_QUEUED_EVENTS) {
    warnings.push(
      `fs.inotify.max_queued_events is ${limits.maxQueuedEvents}: ` +
        'larger bursts of changes overflow the queue and lose events ' +
        '(caught up later by directory checks and the reconcile). ' +
        `Raise it: sysctl -w fs.inotify.max_queued_events=${RECOMMENDED_QUEUED_EVENTS * 4} ` +
        '(persist in /etc/sysctl.d/90-mirrorlog.conf)',
    );
  }
  return warnings;
}

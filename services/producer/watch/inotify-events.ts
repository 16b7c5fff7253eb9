// The inotify event stream (struct inotify_event in <sys/inotify.h>), parsed from the
// bytes read(2) returns. Pure.
import { FSNOTIFY, readName } from './fsnotify.ts';

export const IN = {
  ...FSNOTIFY,
  UNMOUNT: 0x2000,
  IGNORED: 0x8000,
  ONLYDIR: 0x100_0000,
  DONT_FOLLOW: 0x200_0000,
  EXCL_UNLINK: 0x400_0000,
  ISDIR: FSNOTIFY.ONDIR,
} as const;

export type InotifyEvent = { wd: number; mask: number; cookie: number; name: string };

/** Parses one read's worth of events; names come NUL-padded. */
export function parseInotifyEvents(data: Buffer): InotifyEvent[] {
  const events: InotifyEvent[] = [];
  let offset = 0;
  while (offset + 16 <= data.length) {
    const wd = data.readInt32LE(offset);
    const mask = data.readUInt32LE(offset + 4);
    const cookie = data.readUInt32LE(offset + 8);
    const length = data.readUInt32LE(offset + 12);
    const start = offset + 16;
    if (start + length > data.length) throw new Error('truncated inotify event');
    events.push({ wd, mask, cookie, name: readName(data, start, start + length) });
    offset = start + length;
  }
  return events;
}

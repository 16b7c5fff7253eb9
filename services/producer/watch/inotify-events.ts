// The inotify event stream (struct inotify_event in <sys/inotify.h>), parsed from the
// bytes read(2) returns. Pure.

export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x100_0000,
  DONT_FOLLOW: 0x200_0000,
  EXCL_UNLINK: 0x400_0000,
  ISDIR: 0x4000_0000,
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
    let end = start;
    while (end < start + length && data[end] !== 0) end++;
    events.push({ wd, mask, cookie, name: data.toString('utf8', start, end) });
    offset = start + length;
  }
  return events;
}

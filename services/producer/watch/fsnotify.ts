// What the fanotify and inotify event parsers share: the kernel's fsnotify event bits
// (FAN_* and IN_* are the same FS_* values, <linux/fsnotify_backend.h>) and the
// NUL-terminated names in the records read(2) returns. Pure.
import { nameFromBytes } from '../../../schemas/name-bytes.ts';

export const FSNOTIFY = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  Q_OVERFLOW: 0x4000,
  /** FAN_ONDIR, IN_ISDIR: the event is about a directory. */
  ONDIR: 0x4000_0000,
} as const;

/** The name in data[start, end), up to its NUL (the kernel NUL-terminates and pads names). */
export function readName(data: Buffer, start: number, end: number): string {
  const nul = data.indexOf(0, start);
  return nameFromBytes(data.subarray(start, nul < 0 || nul > end ? end : nul));
}

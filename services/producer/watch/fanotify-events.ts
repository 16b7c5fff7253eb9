// The fanotify event stream of a group in fid mode (FAN_REPORT_DFID_NAME, optionally
// FAN_REPORT_FID + FAN_REPORT_TARGET_FID), parsed from the bytes read(2) returns. Pure.
// Layouts: struct fanotify_event_metadata, fanotify_event_info_header and
// fanotify_event_info_fid in <linux/fanotify.h>.
import { FSNOTIFY, readName } from './fsnotify.ts';

export const FAN = {
  ...FSNOTIFY,
  RENAME: 0x1000_0000,
  // fanotify_init flags
  CLOEXEC: 0x1,
  NONBLOCK: 0x2,
  REPORT_FID: 0x200,
  REPORT_DIR_FID: 0x400,
  REPORT_NAME: 0x800,
  REPORT_TARGET_FID: 0x1000,
  EVENT_ON_CHILD: 0x0800_0000,
  // fanotify_mark flags
  MARK_ADD: 0x1,
  MARK_IGNORED_SURV_MODIFY: 0x40,
  MARK_FILESYSTEM: 0x100,
  MARK_IGNORE: 0x400,
} as const;

export const FAN_REPORT_DFID_NAME = FAN.REPORT_DIR_FID | FAN.REPORT_NAME;

const INFO_FID = 1;
const INFO_DFID_NAME = 2;
const INFO_DFID = 3;
const INFO_OLD_DFID_NAME = 10;
const INFO_NEW_DFID_NAME = 12;
const METADATA_VERSION = 3;
/** fsid (8 bytes) precedes the handle in a fid record. */
const FSID_BYTES = 8;
const FILE_HANDLE_HEADER = 8;

/** A directory (by handle key) and a name in it; name '.' means the directory itself. */
export type DirEntryRef = { dir: string; name: string };

export type FanotifyEvent = {
  mask: number;
  /** DFID_NAME / DFID: where the event happened. */
  entry?: DirEntryRef;
  /** FAN_RENAME: the old and the new place. */
  from?: DirEntryRef;
  to?: DirEntryRef;
  /** The object's own handle key (FAN_REPORT_FID; for dirent events FAN_REPORT_TARGET_FID). */
  object?: string;
};

/** A handle's key: the bytes of its struct file_handle, as a latin1 string (cheap to hash). */
export function handleKey(fileHandle: Buffer): string {
  return fileHandle.toString('latin1');
}

export function handleFromKey(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

export class FanotifyFormatError extends Error {}

/** Parses one read's worth of events (the kernel never splits an event across reads). */
export function parseFanotifyEvents(data: Buffer): FanotifyEvent[] {
  const events: FanotifyEvent[] = [];
  let offset = 0;
  while (offset + 24 <= data.length) {
    const eventLength = data.readUInt32LE(offset);
    const version = data.readUInt8(offset + 4);
    const metadataLength = data.readUInt16LE(offset + 6);
    if (version !== METADATA_VERSION)
      throw new FanotifyFormatError(`fanotify metadata version ${version}, expected ${METADATA_VERSION}`);
    if (eventLength < metadataLength || offset + eventLength > data.length)
      throw new FanotifyFormatError('truncated fanotify event');
    // The mask is a u64; every bit used here is in the low 32.
    const mask = data.readUInt32LE(offset + 8) + data.readUInt32LE(offset + 12) * 2 ** 32;
    const event: FanotifyEvent = { mask };
    let info = offset + metadataLength;
    const end = offset + eventLength;
    while (info + 4 <= end) {
      const type = data.readUInt8(info);
      const length = data.readUInt16LE(info + 2);
      if (length < 4 || info + length > end) throw new FanotifyFormatError('truncated fanotify info record');
      if (
        type === INFO_FID ||
        type === INFO_DFID ||
        type === INFO_DFID_NAME ||
        type === INFO_OLD_DFID_NAME ||
        type === INFO_NEW_DFID_NAME
      ) {
        const handleStart = info + 4 + FSID_BYTES;
        const handleBytes = data.readUInt32LE(handleStart);
        const handleEnd = handleStart + FILE_HANDLE_HEADER + handleBytes;
        if (handleEnd > info + length) throw new FanotifyFormatError('fanotify file handle overruns its record');
        const key = data.toString('latin1', handleStart, handleEnd);
        if (type === INFO_FID) {
          event.object = key;
        } else {
          const name = type === INFO_DFID ? '.' : readName(data, handleEnd, info + length);
          const ref = { dir: key, name };
          if (type === INFO_OLD_DFID_NAME) event.from = ref;
          else if (type === INFO_NEW_DFID_NAME) event.to = ref;
          else event.entry = ref;
        }
      }
      info += length;
    }
    events.push(event);
    offset += eventLength;
  }
  return events;
}

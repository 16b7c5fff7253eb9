// Privilege: setuid/setgid bits are applied only when allowed (`--allow-setid`); by
// default they are stripped from the files the applier writes, and counted.
const SETID_BITS = 0o6000;

/** The mode a file gets: as the log says when setid is allowed, else without setuid/setgid. */
export function permittedMode(mode: number, allowSetid: boolean): number {
  return allowSetid ? mode : mode & ~SETID_BITS;
}

/** The file asked for setuid/setgid bits that permittedMode takes away. */
export function stripsSetid(mode: number, allowSetid: boolean): boolean {
  return !allowSetid && (mode & SETID_BITS) !== 0;
}

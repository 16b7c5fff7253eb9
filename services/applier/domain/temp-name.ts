// Names of the applier's own temporary files: a write goes to a temp file beside its
// destination, then is renamed into place, so a reader never sees a partial file.
//
// A temp name is `.<final name>.mirrorlog-<token><random>.tmp`: hidden, and carrying a
// token that is random per applier run, so it cannot collide with a real entry (or
// with another run's temp file) short of someone guessing the token. Crash clean-up and
// sweeps match the token of the runs they clean, never just the pattern, so a source
// entry that happens to look like a temp file is never mistaken for one.

/** Final names longer than this are left out of the temp name (NAME_MAX is 255 bytes). */
const MAX_NAME_BYTES_IN_TEMP = 200;

const TOKEN = /^[0-9a-z]{6,16}$/;
const TEMP_NAME = /^\.(?:.*\.)?mirrorlog-([0-9a-z]+)\.tmp$/s;

/** A fresh run token: 8 base-36 characters from `random` (in [0, 1)). */
export function newRunToken(random: () => number = Math.random): string {
  let token = '';
  for (let i = 0; i < 8; i++) token += Math.floor(random() * 36).toString(36);
  return token;
}

export function isRunToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * The temp name for `finalName`: the token, then `unique` (lowercase base-36). The caller
 * passes a random `unique`, so nobody can plant something at the next name in advance
 * (creation is O_EXCL|O_NOFOLLOW anyway: a planted name only makes the write fail).
 */
export function tempNameFor(finalName: string, token: string, unique: string): string {
  const keep = Buffer.byteLength(finalName, 'utf8') <= MAX_NAME_BYTES_IN_TEMP ? `${finalName}.` : '';
  return `.${keep}mirrorlog-${token}${unique}.tmp`;
}

/** Whether `name` has the shape of any run's temp name (for verification: never drift). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Whether `name` is a temp name made by a run holding one of `tokens`. */
export function isTempNameOf(name: string, tokens: ReadonlySet<string>): boolean {
  const match = TEMP_NAME.exec(name);
  if (match === null) return false;
  const suffix = match[1]!;
  for (const token of tokens) if (suffix.startsWith(token) && suffix.length > token.length) return true;
  return false;
}

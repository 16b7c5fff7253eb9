// Mount points below the root, from /proc/self/mountinfo: a fanotify filesystem mark
// sees one filesystem only, so a root that spans several cannot be watched that way.
import fs from 'node:fs';

/** Mount points strictly below `root`, from the text of /proc/self/mountinfo. Pure. */
export function mountPointsBelow(root: string, mountinfo: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const found: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // Spaces, tabs, newlines and backslashes are written as octal escapes.
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (mountPoint.startsWith(prefix)) found.push(mountPoint);
  }
  return found;
}

export function readMountPointsBelow(root: string): string[] {
  try {
    return mountPointsBelow(root, fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
}

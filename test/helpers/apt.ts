// Debian packages a test needs (rsync, acl), installed with apt-get when their command is
// missing, and said so on stderr. Under a lock: test files run side by side, and two
// apt-gets at once would fail on dpkg's own lock.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);
const checked = new Set<string>();

/** Makes sure `command` exists, installing `pkg` if it does not (`who` names the test in the message). */
export async function ensureCommand(command: string, pkg: string, who: string): Promise<void> {
  if (checked.has(command)) return;
  const install =
    `command -v ${command} >/dev/null || { echo "${who}: ${command} is missing; installing ${pkg} with apt-get" >&2; ` +
    `apt-get update -q && apt-get install -y -q --no-install-recommends ${pkg}; }`;
  await run('flock', [`${os.tmpdir()}/mirrorlog-test-apt.lock`, 'sh', '-c', install], { maxBuffer: 1 << 24 });
  checked.add(command);
}

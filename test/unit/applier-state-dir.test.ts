// A state directory that cannot be written is one line naming it and the variable to
// set, not a SQLite stack trace.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareDirectories } from '../../services/applier/replica-state.ts';
import { CliError } from '../../services/shared/errors.ts';

test('a state directory that cannot be created names itself and MIRRORLOG_STATE_DIR', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-state-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-file'), 'not a directory');
  const stateDir = join(dir, 'a-file', 'state');
  assert.throws(
    () => prepareDirectories(join(dir, 'target'), stateDir),
    (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, 2);
      assert.equal(
        error.message,
        `the state directory ${stateDir} cannot be written (ENOTDIR): ` +
          `set --state-dir (MIRRORLOG_STATE_DIR) to a writable directory, e.g. a mounted volume`,
      );
      return true;
    },
  );
  assert.deepEqual(
    Object.keys(prepareDirectories(join(dir, 'target'), join(dir, 'state'))),
    ['target', 'stateDir'],
    'a usable one is accepted',
  );
});

// The process edge: a finished command ends even when something it used left a handle open.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RUN_MAIN = pathToFileURL(fileURLToPath(new URL('../../services/shared/run-main.ts', import.meta.url))).href;
const ERRORS = pathToFileURL(fileURLToPath(new URL('../../services/shared/errors.ts', import.meta.url))).href;

function runScript(body: string) {
  const script = `import { runMain } from '${RUN_MAIN}'; import { CliError } from '${ERRORS}'; void CliError; ${body}`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return result;
}

test('a command that leaves a socket-like handle open still ends, with its exit code', () => {
  const result = runScript('runMain(async () => { setInterval(() => undefined, 1000); return 3; });');
  assert.equal(result.signal, null, 'ended by itself, not by the test timeout');
  assert.equal(result.status, 3, result.stderr);
});

test('an operator error is one line and its exit code, also with a handle left open', () => {
  const result = runScript(
    "runMain(async () => { setInterval(() => undefined, 1000); throw new CliError('topic x does not exist', 2); });",
  );
  assert.equal(result.status, 2, result.stderr);
  assert.equal(result.stderr, 'mirrorlog: topic x does not exist\n');
});

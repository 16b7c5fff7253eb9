// The alert rules as Prometheus reads them: `promtool check rules` (syntax, PromQL, templates)
// and `promtool test rules` (alerts.test.yaml: the main alerts fire on the series that should
// fire them, and not before their `for:`). promtool is built from the Go module proxy on first
// use (several minutes, cached in ~/.cache/mirrorlog like the stack's servers).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultCacheDir, ensurePromtool } from '../../infra/prometheus/install-promtool.ts';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../infra/prometheus/', import.meta.url));

test('promtool accepts the alert rules, and their unit tests pass', { timeout: 30 * 60_000 }, async () => {
  const promtool = await ensurePromtool(defaultCacheDir(), (line) => process.stderr.write(`${line}\n`));
  const check = await run(promtool, ['check', 'rules', 'alerts.yaml'], { cwd: DIR }).catch(
    (error: { stdout: string; stderr: string }) =>
      assert.fail(`promtool check rules failed:\n${error.stdout}${error.stderr}`),
  );
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const rules = Number(/SUCCESS: (\d+) rules found/.exec(check.stdout)?.[1]);
  assert.ok(rules >= 10, `${rules} rules`);
  const tested = await run(promtool, ['test', 'rules', 'alerts.test.yaml'], { cwd: DIR }).catch(
    (error: { stdout: string; stderr: string }) =>
      assert.fail(`promtool test rules failed:\n${error.stdout}${error.stderr}`),
  );
  assert.match(tested.stdout, /SUCCESS/);
});

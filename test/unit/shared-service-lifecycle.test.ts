// SIGTERM always ends a service process within its stop timeout (issue 20, M5): also when
// its stop never finishes, and when something (a Kafka client's reconnect timers after an
// outage) still holds the event loop once the stop is done.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const lifecycle = new URL('../../services/shared/service-lifecycle.ts', import.meta.url).href;
const runMain = new URL('../../services/shared/run-main.ts', import.meta.url).href;

/** Runs a service in a child process, SIGTERMs it once started; resolves with its exit code and how long it took. */
function runAndTerminate(
  stop: 'clean-but-timers-left' | 'never-finishes',
): Promise<{ code: number | null; ms: number }> {
  const stopFn = stop === 'never-finishes' ? '() => new Promise(() => undefined)' : 'async () => undefined';
  const script = `
    import { runUntilSignal } from '${lifecycle}';
    import { runMain } from '${runMain}';
    runMain(() => runUntilSignal('test', async () => {
      setInterval(() => undefined, 1000); // what a client left behind keeps the loop alive
      setTimeout(() => process.stdout.write('started\\n'), 10);
      return { ready: new Promise(() => undefined), stop: ${stopFn} };
    }, { stopTimeoutMs: 500 }));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let signalledAt = 0;
    const fail = (message: string) => {
      child.kill('SIGKILL');
      reject(new Error(message));
    };
    // Generous bounds: the machine may be busy; a service that never exits is the failure.
    let guard = setTimeout(() => fail('the service did not start within 60 s'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (signalledAt !== 0 || !chunk.toString().includes('started')) return;
      signalledAt = Date.now();
      child.kill('SIGTERM');
      clearTimeout(guard);
      guard = setTimeout(() => fail(`the service did not exit within 20 s of SIGTERM (${stop})`), 20_000);
    });
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, ms: Date.now() - signalledAt });
    });
  });
}

describe('service lifecycle', () => {
  it('exits after a clean stop even when timers are left running', async () => {
    const { code } = await runAndTerminate('clean-but-timers-left');
    assert.equal(code, 0);
  });

  it('exits (code 1) when the stop does not finish within the stop timeout', async () => {
    const { code } = await runAndTerminate('never-finishes');
    assert.equal(code, 1);
  });
});

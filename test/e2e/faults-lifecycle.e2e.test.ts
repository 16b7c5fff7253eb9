// Health and stop through a real Kafka outage (issue 20, L5 and M5). The broker of a
// private stack instance is stopped while a producer and two appliers run as processes:
//  - /readyz of every service turns not-ready and says Kafka is unreachable, and turns
//    ready again once the broker is back (L5: it used to say ready all along);
//  - SIGTERM ends an applier within the stop timeout while the broker is down, and ends
//    the others after the outage (M5: they logged "stopped" and ran on for minutes).
// The default stack is never touched.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { STOP_TIMEOUT_MS } from '../../services/shared/service-lifecycle.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitForReplica } from '../helpers/converge.ts';
import { privateStack } from '../helpers/private-stack.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, startMirrorPair, startService, type ServiceProcess } from '../helpers/services.ts';
import { waitFor } from '../helpers/stack.ts';

/** What /readyz answers now: its status and body, or undefined when nothing answers. */
async function readyz(service: ServiceProcess): Promise<{ status: number; body: string } | undefined> {
  const response = await fetch(`http://127.0.0.1:${service.port}/readyz`).catch(() => undefined);
  return response === undefined ? undefined : { status: response.status, body: await response.text() };
}

/** Waits for /readyz of every service to satisfy `wanted`; returns the last answers. */
async function waitForReadiness(
  services: ServiceProcess[],
  what: string,
  wanted: (answer: { status: number; body: string }) => boolean,
): Promise<string[]> {
  let last: string[] = [];
  await waitFor(
    what,
    async () => {
      const answers = await Promise.all(services.map(readyz));
      last = answers.map((a, i) => `${services[i]!.name}: ${a === undefined ? 'no answer' : `${a.status} ${a.body}`}`);
      return answers.every((a) => a !== undefined && wanted(a)) ? true : undefined;
    },
    120_000,
    500,
  ).catch((error: unknown) => {
    const gone = services
      .filter((service) => service.child.exitCode !== null || service.child.signalCode !== null)
      .map(
        (service) =>
          `${service.name} exited (${service.child.exitCode ?? service.child.signalCode}):\n` +
          service.output.join('').slice(-3000),
      );
    throw new Error(`${(error as Error).message}; last answers:\n${last.join('')}${gone.join('\n')}`);
  });
  return last;
}

/** SIGTERM, then the exit code, or a failure once the stop timeout (and a margin for a busy machine) is over. */
async function terminateInTime(service: ServiceProcess): Promise<number | string> {
  const boundMs = STOP_TIMEOUT_MS + 15_000;
  const began = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    service.kill('SIGTERM'),
    new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), boundMs))),
  ]);
  clearTimeout(timer);
  assert.notEqual(
    outcome,
    'running',
    `${service.name} still runs ${boundMs / 1000} s after SIGTERM:\n${service.output.join('').slice(-2000)}`,
  );
  process.stderr.write(`# ${service.name} exited ${String(outcome)} ${Date.now() - began} ms after SIGTERM\n`);
  return outcome;
}

test(
  'Kafka down: /readyz says so and recovers after; SIGTERM ends the services during and after the outage',
  { timeout: 600_000 },
  async (t) => {
    const stack = await privateStack(t, 'lifecycle');
    const { source, replica, topic, prefix, producer, applier } = await startMirrorPair(t, 'after', stack.config);
    const second = await startService(
      t,
      'applier-during',
      applierArgs(tempDir(t, 'replica2'), tempDir(t, 'astate2'), 'during', topic, prefix, stack.config),
    );
    await second.waitReady();
    writeFileSync(join(source, 'before.txt'), 'written before the outage');
    await waitForReplica(source, replica, 'before the outage');

    let kafkaDown = true;
    defer(t, async () => {
      if (kafkaDown) await stack.start('kafka');
    });
    await stack.stop('kafka');
    const down = await waitForReadiness(
      [producer, applier, second],
      'every service to say Kafka is unreachable',
      (a) => a.status === 503 && /Kafka is unreachable/.test(a.body),
    );
    process.stderr.write(`# during the outage:\n${down.map((line) => `#   ${line}`).join('')}`);
    writeFileSync(join(source, 'during.txt'), 'written while Kafka was down');

    // SIGTERM while the broker is gone: the stop cannot commit, but it must end.
    const duringExit = await terminateInTime(second);
    assert.ok(duringExit === 0 || duringExit === 1, `exit code ${String(duringExit)} (0 or 1 after the stop timeout)`);

    await stack.start('kafka');
    kafkaDown = false;
    await waitForReadiness([producer, applier], 'every service to be ready again', (a) => a.status === 200);
    await waitForReplica(source, replica, 'after the outage', 180_000);

    // After the outage, kafkajs holds reconnect timers and sockets: a clean stop must still end the process.
    assert.equal(await terminateInTime(applier), 0, 'the applier stopped cleanly after the outage');
    assert.equal(await terminateInTime(producer), 0, 'the producer stopped cleanly after the outage');
  },
);

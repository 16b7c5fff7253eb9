// Bringing one server of the stack up: check the tools it needs, wait for a process of
// ours that is still starting or start one on free ports, and wait until it is ready;
// a failure report quotes only the log lines of this start.
import { CliError } from '../../services/shared/errors.ts';
import { busyPorts, waitUntilHealthy } from './health.ts';
import { fileSize, tailFile } from './install.ts';
import { serverPaths, type ServerName, type StackOptions } from './paths.ts';
import { isOurs, readPidFile, stopProcess } from './processes.ts';
import { driverFor } from './server-drivers.ts';
import { serverStatus } from './stack-status.ts';

/** Where each log of a server ends now, so a failure report quotes only this start's lines. */
async function logOffsets(o: StackOptions, name: ServerName): Promise<Map<string, number>> {
  const logs = driverFor(o, name).logs(o);
  return new Map(await Promise.all(logs.map(async (log) => [log, await fileSize(log)] as const)));
}

async function failureReport(
  o: StackOptions,
  name: ServerName,
  reason: string,
  offsets: Map<string, number>,
): Promise<string> {
  const parts = [`${driverFor(o, name).label} did not come up: ${reason}`];
  for (const log of driverFor(o, name).logs(o)) {
    const tail = await tailFile(log, 25, offsets.get(log) ?? 0);
    if (tail !== '') parts.push(`--- last lines of ${log} ---\n${tail}`);
  }
  return parts.join('\n');
}

/**
 * Makes one server healthy: waits for a process of ours that is still starting, else
 * checks its ports are free, installs if needed, starts it and waits. Returns whether it
 * started a process.
 */
export async function bringUp(o: StackOptions, name: ServerName): Promise<boolean> {
  const driver = driverFor(o, name);
  const current = await serverStatus(o, name);
  if (current.running && current.endpoint !== driver.endpoint(o)) {
    throw new Error(
      `${driver.label} of this stack already runs at ${current.endpoint}, not ${driver.endpoint(o)}: ` +
        "run 'mirrorlog stack down' first to move it",
    );
  }
  if (current.healthy) return false;
  let started = false;
  const offsets = await logOffsets(o, name);
  let record = current.running ? await readPidFile(serverPaths(o.stackDir, name).pidFile) : undefined;
  if (record === undefined) {
    const busy = await busyPorts(driver.ports(o));
    if (busy.length > 0) {
      throw new Error(
        `cannot start ${driver.label}: port(s) ${busy.join(', ')} on 127.0.0.1 are in use by a program ` +
          'this stack did not start; stop it or choose other ports ' +
          '(--kafka-port/--s3-port or MIRRORLOG_STACK_KAFKA_PORT/MIRRORLOG_STACK_S3_PORT)',
      );
    }
    record = await driver.start(o);
    started = true;
    o.log(`started ${driver.label} (pid ${record.pid}); waiting for it to answer`);
  } else {
    o.log(`${driver.label} (pid ${record.pid}) is running but not answering yet; waiting`);
  }
  const launched = record;
  const result = await waitUntilHealthy(() => driver.ready(o), {
    timeoutMs: o.startTimeoutMs,
    giveUp: async () => ((await isOurs(launched)) ? undefined : `the process (pid ${launched.pid}) exited`),
  });
  if (!result.ok) {
    const report = await failureReport(o, name, result.reason, offsets);
    if (started) await stopProcess(serverPaths(o.stackDir, name).pidFile, driver.graceMs);
    throw new Error(report);
  }
  return started;
}

/** Before anything starts or builds: every missing tool of the servers that are not running, in one go. */
export async function checkTools(o: StackOptions, names: readonly ServerName[]): Promise<void> {
  const problems: string[] = [];
  for (const name of names) {
    const status = await serverStatus(o, name);
    if (status.healthy || status.running) continue;
    await driverFor(o, name)
      .checkTools(o)
      .catch((error: unknown) => problems.push(error instanceof Error ? error.message : String(error)));
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'), 1);
}

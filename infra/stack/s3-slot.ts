// The stack's S3 slot, served by SeaweedFS (default) or MinIO: either server lives in the
// same directory with the same pid file, and records its port the same way, because
// `status` reads the port back from the pid record whichever server runs (stack-status.ts).
import { mkdir } from 'node:fs/promises';
import { serverPaths, type ServerPaths, type StackOptions } from './paths.ts';
import { launch, type LaunchSpec, type PidRecord } from './processes.ts';

/** Creates the slot's data and log directories and launches the server `specFor` describes. */
export async function launchInS3Slot(
  o: StackOptions,
  specFor: (paths: ServerPaths) => LaunchSpec,
  info: { version: string; endpoint: string; server?: string },
): Promise<PidRecord> {
  const paths = serverPaths(o.stackDir, 's3');
  await mkdir(paths.dataDir, { recursive: true });
  await mkdir(paths.logDir, { recursive: true });
  return launch(specFor(paths), paths.pidFile, { ...info, ports: { s3Port: o.s3Port } });
}

// The S3 server of the local stack: SeaweedFS `weed mini` (master, volume, filer, S3 and
// its admin in one process), every port on 127.0.0.1 and in one block beside the S3
// port, with credentials in its environment so S3 never allows anonymous access.
import { join } from 'node:path';
import { ensureSeaweedInstalled, type SeaweedInstall } from './install-seaweedfs.ts';
import type { ServerPaths, StackOptions } from './paths.ts';
import type { LaunchSpec, PidRecord } from './processes.ts';
import { launchInS3Slot } from './s3-slot.ts';

export interface WeedArgsInput {
  s3Port: number;
  dataDir: string;
  logDir: string;
}

/** Every listening port is set explicitly; the ones we do not use are turned off. */
export function weedMiniArgs(o: WeedArgsInput): string[] {
  const p = o.s3Port;
  return [
    // glog options go before the command: rotated files in the stack's log directory
    `-logdir=${o.logDir}`,
    '-alsologtostderr=false',
    '-log_max_size_mb=32',
    '-log_max_files=3',
    'mini',
    `-dir=${o.dataDir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-s3.port=${p}`,
    `-s3.port.grpc=${p + 10_000}`,
    `-master.port=${p + 1}`,
    `-master.port.grpc=${p + 10_001}`,
    `-volume.port=${p + 2}`,
    `-volume.port.grpc=${p + 10_002}`,
    `-filer.port=${p + 3}`,
    `-filer.port.grpc=${p + 10_003}`,
    // The admin server (maintenance worker) always runs in mini; its UI need not.
    `-admin.port=${p + 4}`,
    `-admin.port.grpc=${p + 10_004}`,
    '-admin.port.legacy=0',
    '-admin.ui=false',
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-webdav=false',
    // No reports to the internet from a development stack.
    '-master.telemetry=false',
    // Small volumes: a development disk fills up less with half-empty 1 GiB volumes.
    '-master.volumeSizeLimitMB=64',
  ];
}

export function weedLaunchSpec(install: SeaweedInstall, paths: ServerPaths, o: StackOptions): LaunchSpec {
  return {
    command: install.weed,
    args: weedMiniArgs({ s3Port: o.s3Port, dataDir: paths.dataDir, logDir: paths.logDir }),
    cwd: paths.dir,
    // SeaweedFS turns these into its admin identity; without them S3 is open to anyone.
    env: { ...process.env, AWS_ACCESS_KEY_ID: o.s3AccessKey, AWS_SECRET_ACCESS_KEY: o.s3SecretKey },
    logFile: paths.consoleLog,
  };
}

/** The file SeaweedFS's own log goes to (glog keeps `weed.INFO` pointing at the newest). */
export function weedLogFile(paths: ServerPaths): string {
  return join(paths.logDir, 'weed.INFO');
}

export async function startS3(o: StackOptions): Promise<PidRecord> {
  const install = await ensureSeaweedInstalled(o.cacheDir, o.log);
  return launchInS3Slot(o, (paths) => weedLaunchSpec(install, paths, o), {
    version: install.version,
    endpoint: `http://127.0.0.1:${o.s3Port}`,
  });
}

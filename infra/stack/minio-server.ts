// MinIO as the stack's S3 server (`stack up --s3-server minio`, or a private instance's):
// what operators deploy, beside SeaweedFS, which the stack runs by default. One process on
// 127.0.0.1 with its root credentials in its environment (never anonymous), the web
// console off; with a certificates directory it serves https only.
import { join } from 'node:path';
import { ensureMinioInstalled, type MinioInstall } from './install-minio.ts';
import type { ServerPaths, StackOptions } from './paths.ts';
import type { LaunchSpec, PidRecord } from './processes.ts';
import { launchInS3Slot } from './s3-slot.ts';

export function minioArgs(o: { s3Port: number; dataDir: string; certsDir?: string }): string[] {
  return [
    'server',
    o.dataDir,
    '--address',
    `127.0.0.1:${o.s3Port}`,
    // The console cannot be left out, only turned off (MINIO_BROWSER): kept on loopback beside S3.
    '--console-address',
    `127.0.0.1:${o.s3Port + 1}`,
    '--quiet',
    // public.crt and private.key here turn on TLS (the tests make them for a private CA).
    ...(o.certsDir === undefined ? [] : ['--certs-dir', o.certsDir]),
  ];
}

export function minioLaunchSpec(install: MinioInstall, paths: ServerPaths, o: StackOptions): LaunchSpec {
  return {
    command: install.minio,
    args: minioArgs({
      s3Port: o.s3Port,
      dataDir: paths.dataDir,
      ...(o.s3CertsDir === undefined ? {} : { certsDir: o.s3CertsDir }),
    }),
    cwd: paths.dir,
    env: {
      ...process.env,
      MINIO_ROOT_USER: o.s3AccessKey,
      MINIO_ROOT_PASSWORD: o.s3SecretKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
      MINIO_REGION: o.region,
    },
    logFile: paths.consoleLog,
  };
}

export async function startMinio(o: StackOptions): Promise<PidRecord> {
  const install = await ensureMinioInstalled(o.cacheDir, o.log);
  return launchInS3Slot(o, (paths) => minioLaunchSpec(install, paths, o), {
    version: install.version,
    server: 'minio',
    endpoint: `${o.s3CertsDir === undefined ? 'http' : 'https'}://127.0.0.1:${o.s3Port}`,
  });
}

export function minioLogFile(paths: ServerPaths): string {
  return join(paths.logDir, 'console.log');
}

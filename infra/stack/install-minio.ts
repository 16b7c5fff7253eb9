// MinIO built from source with the machine's Go, the local stack's second S3 server
// (`stack up --s3 minio`): what operators deploy (compose.yaml), where SeaweedFS is only
// what the stack runs by default. MinIO's release tags (RELEASE.2025-...) are not semver,
// so the module proxy serves a pseudo-version, which pins the source.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatElapsed, installOnce, isInstalled, requireTool, runStep } from './install.ts';
import { goEnv } from './install-seaweedfs.ts';

const execFileAsync = promisify(execFile);

export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

export interface MinioInstall {
  version: string;
  dir: string;
  minio: string;
}

export function minioInstallDir(cacheDir: string): string {
  return join(cacheDir, `minio-${MINIO_VERSION}`);
}

function describe(dir: string): MinioInstall {
  return { version: MINIO_VERSION, dir, minio: join(dir, 'bin', 'minio') };
}

function requireGo(): Promise<string> {
  return requireTool(
    'go',
    'building MinIO (the second local S3 server)',
    'Go 1.24 or newer: https://go.dev/doc/install',
  );
}

/** Fails at once, in one line, when installing would need a tool that is missing. */
export async function checkMinioInstallTools(cacheDir: string): Promise<void> {
  if (!(await isInstalled(minioInstallDir(cacheDir)))) await requireGo();
}

const PROGRESS_EVERY_MS = 20_000;

/** The installed `minio` binary, building it first when needed (minutes on two cores). */
export async function ensureMinioInstalled(cacheDir: string, log: (line: string) => void): Promise<MinioInstall> {
  const dir = minioInstallDir(cacheDir);
  if (await isInstalled(dir)) return describe(dir);
  const go = await requireGo();
  const started = Date.now();
  log(
    `installing MinIO ${MINIO_VERSION}: building it from source with ${go}; this takes several minutes the first time`,
  );
  await installOnce(dir, async (temp) => {
    // Its go.mod has no replace directives, so `go install module@version` builds it as published.
    const env = { ...goEnv(process.env), GOBIN: join(temp, 'bin') };
    let compiled = 0;
    const timer = setInterval(
      () => log(`  building minio: ${compiled} packages compiled, ${formatElapsed(Date.now() - started)} so far`),
      PROGRESS_EVERY_MS,
    );
    try {
      await runStep(go, ['install', '-v', '-buildvcs=false', '-ldflags=-s -w', `${MINIO_MODULE}@${MINIO_VERSION}`], {
        cwd: temp,
        env,
        logFile: join(temp, 'build.log'),
        onLine: (line) => {
          if (line !== '' && !line.startsWith('go: ') && !line.includes(' ')) compiled += 1;
        },
      });
    } finally {
      clearInterval(timer);
    }
    const { stdout } = await execFileAsync(join(temp, 'bin', 'minio'), ['--version'], { env });
    log(`  built: ${stdout.trim().split('\n')[0]}`);
  });
  log(`installed MinIO in ${formatElapsed(Date.now() - started)}`);
  return describe(dir);
}

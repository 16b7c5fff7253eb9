// SeaweedFS built from source with the machine's Go. `go install module/weed@version`
// refuses this module ("go.mod ... contains one or more replace directives"), so the
// module is downloaded with `go mod download -json` and `./weed` is built inside its
// directory, where its own replace directives apply.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatElapsed, installOnce, isInstalled, requireTool, runStep } from './install.ts';

const execFileAsync = promisify(execFile);

export const SEAWEEDFS_MODULE = 'github.com/seaweedfs/seaweedfs';
/** Release tags are not semver; a pseudo-version the module proxy serves pins the source. */
export const SEAWEEDFS_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';

export interface SeaweedInstall {
  version: string;
  dir: string;
  weed: string;
}

export function seaweedInstallDir(cacheDir: string): string {
  return join(cacheDir, `seaweedfs-${SEAWEEDFS_VERSION}`);
}

function describe(dir: string): SeaweedInstall {
  return { version: SEAWEEDFS_VERSION, dir, weed: join(dir, 'bin', 'weed') };
}

/** Environment for the go tool: the user's, minus flags that would change how this module builds. */
export function goEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { GOFLAGS: _flags, GOWORK: _work, GO111MODULE: _mode, ...rest } = env;
  return { ...rest, GOWORK: 'off', GO111MODULE: 'on' };
}

/** Reads `Dir` (the extracted module source) from `go mod download -json` output. */
export function moduleDirOf(json: string): string {
  const parsed = JSON.parse(json) as { Dir?: string; Error?: string };
  if (parsed.Error !== undefined) throw new Error(`go mod download: ${parsed.Error}`);
  if (parsed.Dir === undefined || parsed.Dir === '') throw new Error('go mod download -json printed no Dir');
  return parsed.Dir;
}

const PROGRESS_EVERY_MS = 20_000;

function requireGo(): Promise<string> {
  return requireTool(
    'go',
    'building SeaweedFS (the local S3 server)',
    'Go 1.21 or newer (it fetches the Go toolchain SeaweedFS asks for): https://go.dev/doc/install',
  );
}

/** Fails at once, in one line, when installing would need a tool that is missing. */
export async function checkSeaweedInstallTools(cacheDir: string): Promise<void> {
  if (!(await isInstalled(seaweedInstallDir(cacheDir)))) await requireGo();
}

/** The installed `weed` binary, building it first when needed (minutes on two cores). */
export async function ensureSeaweedInstalled(cacheDir: string, log: (line: string) => void): Promise<SeaweedInstall> {
  const dir = seaweedInstallDir(cacheDir);
  if (await isInstalled(dir)) return describe(dir);

  const go = await requireGo();
  const env = goEnv(process.env);
  const started = Date.now();
  log(
    `installing SeaweedFS ${SEAWEEDFS_VERSION}: building weed from source with ${go}; ` +
      'this takes several minutes the first time',
  );
  await installOnce(dir, async (temp) => {
    const { stdout } = await execFileAsync(
      go,
      ['mod', 'download', '-json', `${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}`],
      {
        env,
        cwd: temp,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      // -json reports module errors on stdout with a non-zero exit
      if (error.stdout) return { stdout: error.stdout };
      throw new Error(
        `go mod download ${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION} failed: ${error.stderr ?? error.message}`,
      );
    });
    const source = moduleDirOf(stdout);
    log(`  source in ${source}; compiling (progress every ${PROGRESS_EVERY_MS / 1000}s)`);

    let compiled = 0;
    let downloaded = 0;
    const timer = setInterval(() => {
      log(
        `  building weed: ${compiled} packages compiled, ${downloaded} modules downloaded, ` +
          `${formatElapsed(Date.now() - started)} so far`,
      );
    }, PROGRESS_EVERY_MS);
    try {
      await runStep(
        go,
        ['build', '-v', '-buildvcs=false', '-ldflags=-s -w', '-o', join(temp, 'bin', 'weed'), './weed'],
        {
          cwd: source,
          env,
          logFile: join(temp, 'build.log'),
          onLine: (line) => {
            if (line.startsWith('go: downloading ')) downloaded += 1;
            else if (line !== '' && !line.startsWith('#') && !line.includes(' ')) compiled += 1;
          },
        },
      );
    } finally {
      clearInterval(timer);
    }
    const { stdout: version } = await execFileAsync(join(temp, 'bin', 'weed'), ['version'], { env });
    log(`  built: ${version.trim().split('\n')[0]}`);
  });
  log(`installed SeaweedFS in ${formatElapsed(Date.now() - started)}`);
  return describe(dir);
}

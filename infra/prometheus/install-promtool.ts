// promtool (Prometheus' rule checker) built from the Go module proxy on first use, into
// the same cache as the local stack's servers (~/.cache/mirrorlog, MIRRORLOG_CACHE_DIR).
// Like SeaweedFS, the module is downloaded and `./cmd/promtool` built inside it, so the
// module's own go.mod (replace directives included) applies.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatElapsed, installOnce, isInstalled, requireTool, runStep } from '../stack/install.ts';
import { goEnv, moduleDirOf } from '../stack/install-seaweedfs.ts';

const execFileAsync = promisify(execFile);

export const PROMETHEUS_MODULE = 'github.com/prometheus/prometheus';
/** Prometheus 3.x is published as v0.3xx.y module versions (v0.316.0 = Prometheus 3.16.0). */
export const PROMETHEUS_VERSION = 'v0.316.0';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['MIRRORLOG_CACHE_DIR'];
  return dir !== undefined && dir !== '' ? dir : join(homedir(), '.cache', 'mirrorlog');
}

export function promtoolPath(cacheDir: string): string {
  return join(cacheDir, `promtool-${PROMETHEUS_VERSION}`, 'bin', 'promtool');
}

/** The promtool binary, built first when needed (minutes the first time, on two cores). */
export async function ensurePromtool(cacheDir: string, log: (line: string) => void): Promise<string> {
  const dir = join(cacheDir, `promtool-${PROMETHEUS_VERSION}`);
  const binary = promtoolPath(cacheDir);
  if (await isInstalled(dir)) return binary;
  const go = await requireTool(
    'go',
    'building promtool (checks the alert rules)',
    'Go 1.23 or newer: https://go.dev/doc/install',
  );
  const env = goEnv(process.env);
  const started = Date.now();
  log(`installing promtool ${PROMETHEUS_VERSION}: building it with ${go}; several minutes the first time`);
  await installOnce(dir, async (temp) => {
    const module = `${PROMETHEUS_MODULE}@${PROMETHEUS_VERSION}`;
    const { stdout } = await execFileAsync(go, ['mod', 'download', '-json', module], {
      env,
      cwd: temp,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      if (error.stdout) return { stdout: error.stdout };
      throw new Error(`go mod download ${module} failed: ${error.stderr ?? error.message}`);
    });
    const source = moduleDirOf(stdout);
    const timer = setInterval(() => log(`  building promtool: ${formatElapsed(Date.now() - started)} so far`), 30_000);
    try {
      // Checking rules needs no service discovery: without it, a fraction of the modules to fetch and compile.
      const output = join(temp, 'bin', 'promtool');
      await runStep(
        go,
        ['build', '-tags=remove_all_sd', '-buildvcs=false', '-ldflags=-s -w', '-o', output, './cmd/promtool'],
        {
          cwd: source,
          env,
          logFile: join(temp, 'build.log'),
        },
      );
    } finally {
      clearInterval(timer);
    }
  });
  log(`installed promtool in ${formatElapsed(Date.now() - started)}`);
  return binary;
}

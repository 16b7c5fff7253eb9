// A real headless Chromium for tests: Debian's `chromium` package, installed with apt on
// first use when missing (as root, `apt-get update` once first), driven by playwright-core
// (which downloads no browser of its own). Where it cannot be installed, the test fails
// with the reason: it never passes without a browser.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { defer } from './cleanup.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function findChromium(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}

/** The path of Debian's chromium, installing it first if needed (the CI machine starts without it). */
export function ensureChromium(): string {
  const found = findChromium();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0)
    throw new Error('chromium is not installed and this is not root: apt-get install chromium');
  process.stderr.write(
    'browser: chromium is missing; apt-get update && apt-get install -y chromium (once, about a minute)\n',
  );
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'chromium'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 900_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = findChromium();
  if (installed === undefined)
    throw new Error(`apt-get install chromium failed: ${install.stderr?.toString().slice(-2000)}`);
  return installed;
}

export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    // Root in a container-like machine: Chromium's own sandbox needs user namespaces it may not get.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  defer(t, () => browser.close());
  return browser;
}

#!/usr/bin/env node
// Runs test tiers: node scripts/run-tests.mjs <tier>... [-- args for the test files]
//
//   unit         test/unit/**/*.test.ts, plus *.test.ts beside the code in schemas/,
//                services/ and infra/ (not *.int.test.ts / *.e2e.test.ts)
//   model        test/model/**/*.test.ts
//   integration  test/integration/**/*.test.ts   (real Kafka + S3: the local stack)
//   e2e          test/e2e/**/*.test.ts           (real Kafka + S3: the local stack)
//
// Each tier is one `node --import tsx --test` run over its files, sorted; the model tier
// runs one file at a time, integration and e2e two (CONCURRENCY). Before the first
// integration/e2e tier the local stack is brought up if it is not running, and whatever
// this run started is stopped at the end, on failure and on SIGINT/SIGTERM too: the stack
// is left as it was found.
// Tests that stop servers use private stack instances (test/helpers/private-stack.ts)
// named after this run (MIRRORLOG_TEST_RUN); each test purges its own, and this script
// sweeps the run's leftovers at the end (a test process killed before its cleanup ran).
// The same tiers get a container engine, Compose and the base images (infra/containers/
// containers.sh): a dockerd this run started is stopped again at the end.
// Arguments after `--` reach the test files as a JSON array of strings in the env
// variable MIRRORLOG_TEST_ARGS (`npm run test:model -- --runs 50000`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TIERS = ['unit', 'model', 'integration', 'e2e'];
const STACK_TIERS = new Set(['integration', 'e2e']);
const COLOCATED_ROOTS = ['schemas', 'services', 'infra'];
const TEST_RUN = `${process.pid}${randomBytes(3).toString('hex')}`;
// Integration and e2e files spend most of their time waiting (on servers, outages, restarts,
// convergence), and each uses fresh topics, prefixes and private servers: two run at a time
// (node's runner takes them in name order).
const CONCURRENCY = { unit: undefined, model: 1, integration: 2, e2e: 2 };

function usage(message) {
  process.stderr.write(
    `run-tests: ${message}\nusage: node scripts/run-tests.mjs <${TIERS.join('|')}>... [-- args for the test files]\n`,
  );
  process.exit(2);
}

function parseArgv(argv) {
  const split = argv.indexOf('--');
  const tiers = split === -1 ? argv : argv.slice(0, split);
  const extra = split === -1 ? [] : argv.slice(split + 1);
  if (tiers.length === 0) usage('name at least one tier');
  for (const tier of tiers) if (!TIERS.includes(tier)) usage(`unknown tier '${tier}'`);
  return { tiers: [...new Set(tiers)], extra };
}

function walk(dir, keep, found = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT') return found;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, keep, found);
    else if (entry.isFile() && keep(entry.name)) found.push(path);
  }
  return found;
}

function testFiles(tier) {
  const isTest = (name) => name.endsWith('.test.ts');
  const files = walk(join(ROOT, 'test', tier), isTest);
  if (tier === 'unit') {
    const isUnit = (name) => isTest(name) && !name.endsWith('.int.test.ts') && !name.endsWith('.e2e.test.ts');
    for (const root of COLOCATED_ROOTS) walk(join(ROOT, root), isUnit, files);
  }
  return files.map((file) => relative(ROOT, file).split(sep).join('/')).sort();
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

let current; // the running test process
let interrupted;

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted === undefined)
      process.stderr.write(`\nrun-tests: ${sig}: stopping tests, then the servers this run started\n`);
    interrupted = sig;
    current?.kill(sig);
  });
}

function runNode(args, env) {
  return new Promise((resolveRun) => {
    current = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env });
    current.once('error', (error) => {
      process.stderr.write(`run-tests: ${error.message}\n`);
      resolveRun(1);
    });
    current.once('exit', (code, signal) => {
      current = undefined;
      resolveRun(code ?? (signal ? 1 : 0));
    });
  });
}

/** The stack API, loaded through tsx (it is TypeScript) only when a tier needs it. */
async function loadStack() {
  const { register } = await import('tsx/esm/api');
  register();
  return import(new URL('../infra/stack/index.ts', import.meta.url).href);
}

class StackGuard {
  stack;
  startedHere = [];

  async up() {
    this.stack ??= await loadStack();
    const before = await this.stack.stackStatus();
    const missing = Object.values(before.servers)
      .filter((s) => !s.healthy)
      .map((s) => s.name);
    if (missing.length === 0) {
      process.stdout.write('run-tests: the local stack is already running; it stays up afterwards\n');
      return;
    }
    const t0 = Date.now();
    process.stdout.write(
      `run-tests: bringing up the local stack (${missing.join(', ')}); it is stopped again at the end\n`,
    );
    this.startedHere = missing; // recorded first, so a failure half-way still stops what came up
    const { kafkaBrokers, s3Endpoint } = await this.stack.ensureStackUp();
    process.stdout.write(
      `run-tests: stack up in ${seconds(Date.now() - t0)}: kafka ${kafkaBrokers.join(',')}, s3 ${s3Endpoint}\n`,
    );
  }

  async down() {
    if (this.stack === undefined || this.startedHere.length === 0) return;
    const names = this.startedHere;
    this.startedHere = [];
    const t0 = Date.now();
    for (const name of names) {
      try {
        await this.stack.stopServer(name);
      } catch (error) {
        process.stderr.write(`run-tests: stopping ${name} failed: ${error.message}\n`);
      }
    }
    process.stdout.write(`run-tests: stopped ${names.join(', ')} in ${seconds(Date.now() - t0)}\n`);
  }

  /** Private instances of this run still on disk: stopped and purged. */
  async sweepInstances() {
    if (this.stack === undefined) return;
    const prefix = `test-${TEST_RUN}-`;
    const dir = this.stack.instancesDir();
    let names = [];
    try {
      names = readdirSync(dir).filter((name) => name.startsWith(prefix));
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    for (const name of names) {
      try {
        if (existsSync(join(dir, name, 'cluster.json'))) {
          await this.stack.clusterDown({ dir: join(dir, name), purge: true, log: () => undefined });
          process.stdout.write(`run-tests: swept private cluster ${name}\n`);
          continue;
        }
        const result = await this.stack.stackDown({ stackDir: join(dir, name), purge: true, log: () => undefined });
        const stopped = Object.entries(result.stopped).filter(([, outcome]) => outcome !== 'not-running');
        const stoppedNote = stopped.length > 0 ? ` (stopped ${stopped.map(([n]) => n).join(', ')})` : '';
        process.stdout.write(`run-tests: swept private stack ${name}${stoppedNote}\n`);
      } catch (error) {
        process.stderr.write(`run-tests: sweeping private stack ${name} failed: ${error.message}\n`);
      }
    }
  }
}

/** The container engine for the container tests; stopped at the end only if started here. */
class EngineGuard {
  script = join(ROOT, 'infra', 'containers', 'containers.sh');
  startedHere = false;
  provisioned = false;

  run(command) {
    return new Promise((resolveRun) => {
      const child = spawn('bash', [this.script, command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.once('error', (error) => resolveRun({ code: 1, stdout: error.message }));
      child.once('exit', (code) => resolveRun({ code: code ?? 1, stdout }));
    });
  }

  /** Engine, `docker compose` and base images; a failure is reported and the tests then fail. */
  async up() {
    if (this.provisioned) return;
    this.provisioned = true;
    const t0 = Date.now();
    const up = await this.run('up');
    this.startedHere = up.code === 0 && up.stdout.trim().split('\n').at(-1) === 'started';
    for (const step of up.code === 0 ? ['compose', 'images'] : []) {
      if (interrupted) return;
      const result = await this.run(step);
      if (result.code !== 0) {
        process.stderr.write(`run-tests: containers.sh ${step} failed: the container tests will fail\n`);
        return;
      }
    }
    if (up.code !== 0) process.stderr.write('run-tests: no container engine: the container tests will fail\n');
    else process.stdout.write(`run-tests: container engine ready in ${seconds(Date.now() - t0)}\n`);
  }

  async down() {
    if (!this.startedHere) return;
    this.startedHere = false;
    await this.run('down');
  }
}

async function main() {
  const { tiers, extra } = parseArgv(process.argv.slice(2));
  const env = { ...process.env, MIRRORLOG_TEST_ARGS: JSON.stringify(extra), MIRRORLOG_TEST_RUN: TEST_RUN };
  const guard = new StackGuard();
  const engine = new EngineGuard();
  const results = [];
  const started = Date.now();
  try {
    for (const tier of tiers) {
      if (interrupted) break;
      const files = testFiles(tier);
      if (files.length === 0) {
        process.stdout.write(`\n== ${tier}: no test files under test/${tier}, skipped ==\n`);
        results.push({ tier, outcome: 'skipped (no files)' });
        continue;
      }
      if (STACK_TIERS.has(tier)) {
        try {
          await guard.up();
        } catch (error) {
          process.stderr.write(`run-tests: the local stack did not come up:\n${error.message}\n`);
          results.push({ tier, outcome: 'FAILED (no stack)', failed: true });
          continue;
        }
        if (interrupted) break;
        await engine.up();
        if (interrupted) break;
      }
      process.stdout.write(`\n== ${tier}: ${files.length} file(s) ==\n`);
      const t0 = Date.now();
      // --test-force-exit: a test file whose tests are done ends, even if a client it used left a
      // socket or timer behind (one leaked Kafka socket would otherwise hold the whole run).
      const concurrency = CONCURRENCY[tier] === undefined ? [] : [`--test-concurrency=${CONCURRENCY[tier]}`];
      const code = await runNode(['--import', 'tsx', '--test', ...concurrency, '--test-force-exit', ...files], env);
      const elapsed = seconds(Date.now() - t0);
      results.push({
        tier,
        outcome: code === 0 ? `passed in ${elapsed}` : `FAILED (exit ${code}) after ${elapsed}`,
        failed: code !== 0,
      });
    }
  } finally {
    await guard.sweepInstances();
    await engine.down();
    await guard.down();
  }
  process.stdout.write(`\n== summary (${seconds(Date.now() - started)}) ==\n`);
  for (const r of results) process.stdout.write(`  ${r.tier.padEnd(11)} ${r.outcome}\n`);
  if (interrupted) return interrupted === 'SIGINT' ? 130 : 143;
  return results.some((r) => r.failed) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`run-tests: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);

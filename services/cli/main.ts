// The `mirrorlog` command: dispatches to one module per subcommand, loaded lazily so
// `mirrorlog stack status` does not pay for the producer's native watcher.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from '../shared/errors.ts';
import { runMain } from '../shared/run-main.ts';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  up: { summary: 'local stack + producer + applier on one machine (npm start)', load: () => import('./up.ts') },
  stack: {
    summary: 'the local Kafka + S3 stack: up | down [--purge] | status [--json]',
    load: () => import('../../infra/stack/command.ts'),
  },
  producer: { summary: 'watch a source root and publish its changes', load: () => import('../producer/command.ts') },
  applier: { summary: 'materialize one replica from the log', load: () => import('../applier/command.ts') },
  status: {
    summary: 'per replica lag, last applied time and rates; --serve: a live status page',
    load: () => import('./status.ts'),
  },
  verify: { summary: 'compare a replica with the log (exit 1 on drift)', load: () => import('./verify.ts') },
  restore: { summary: 'materialize the tree as of a past time', load: () => import('./restore.ts') },
  gc: {
    summary: 'delete stored content no retained record references (after a grace period)',
    load: () => import('./gc.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: mirrorlog <command> [options]',
    '       mirrorlog --version',
    '',
    'commands:',
    ...lines,
    '',
    'mirrorlog <command> --help lists the options of one command, each with its default and environment variable.',
    'Options come from flags, then MIRRORLOG_* variables, ' +
      'then a JSON file given with --config FILE (or MIRRORLOG_CONFIG).',
    `More in the README: ${installedFile('README.md') ?? 'README.md of the mirrorlog sources'}.`,
  ].join('\n');
}

// This file runs as services/cli/main.ts in a checkout and as dist/services/cli/main.js when built.
const INSTALL_ROOTS = ['../../', '../../../'].map((up) => new URL(up, import.meta.url));

function isInstallRoot(root: URL): boolean {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { name?: string }).name === 'mirrorlog';
  } catch {
    return false;
  }
}

/** A file at the root of this installation (README.md, package.json), if there is one. */
function installedFile(name: string): string | undefined {
  const root = INSTALL_ROOTS.find(isInstallRoot);
  if (root === undefined) return undefined;
  const file = new URL(name, root);
  return existsSync(file) ? fileURLToPath(file) : undefined;
}

function version(): string {
  const file = installedFile('package.json');
  if (file === undefined) return 'unknown';
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`mirrorlog ${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    throw new CliError(`unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})`);
  }
  const module = await command.load();
  return module.run(rest);
}

runMain(() => main(process.argv.slice(2)));

// Readers for the deployment files (Dockerfiles, infra/compose.yaml, systemd units and
// env files), small enough to check them without a container engine or systemd. Each
// parser handles the subset of its format these files use and throws on anything else,
// so a construct it does not know fails the test instead of being skipped silently.
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { applierConfigSchema, envName, producerConfigSchema } from '../../schemas/config.ts';
import { CONFIG_FILE_ENV } from '../../services/shared/config.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const SERVICES = ['producer', 'applier'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const CONFIG_SCHEMAS: Record<ServiceName, z.ZodObject> = {
  producer: producerConfigSchema,
  applier: applierConfigSchema,
};

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

export function repoFileExists(path: string): boolean {
  return existsSync(join(REPO_ROOT, path));
}

/** Every environment variable a service reads: one per schema key, plus MIRRORLOG_CONFIG. */
export function configEnvNames(service: ServiceName): Set<string> {
  return new Set([...Object.keys(CONFIG_SCHEMAS[service].shape).map(envName), CONFIG_FILE_ENV]);
}

/** Every `MIRRORLOG_*` word in a text, comments included (a typo in a comment misleads too). */
export function mirrorlogNames(text: string): string[] {
  return [...new Set(text.match(/\bMIRRORLOG_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])];
}

// ---------------------------------------------------------------------------------------
// Build output: which source file a compiled path comes from.

interface BuildTsconfig {
  compilerOptions: { outDir: string; rootDir: string };
  include: string[];
  exclude?: string[];
}

/**
 * `dist/services/producer/main.js` → `services/producer/main.ts`, following the outDir and
 * rootDir of tsconfig.build.json; undefined when the path is not under outDir. Also
 * returns whether the build includes that source.
 */
export function sourceOfCompiled(distPath: string): { source: string; included: boolean } | undefined {
  const config = JSON.parse(readRepoFile('tsconfig.build.json')) as BuildTsconfig;
  const outDir = posix.normalize(config.compilerOptions.outDir);
  const rootDir = posix.normalize(config.compilerOptions.rootDir);
  const normalized = posix.normalize(distPath);
  if (!normalized.startsWith(`${outDir}/`) || !normalized.endsWith('.js')) return undefined;
  const source = posix.normalize(posix.join(rootDir, normalized.slice(outDir.length + 1).replace(/\.js$/, '.ts')));
  const under = (dir: string) => source === dir || source.startsWith(`${posix.normalize(dir)}/`);
  const excluded = (config.exclude ?? []).some((pattern) => picomatch.isMatch(source, pattern, { dot: true }));
  return { source, included: config.include.some(under) && !excluded };
}

// ---------------------------------------------------------------------------------------
// Dockerfiles.

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface DockerStage {
  readonly from: string;
  readonly alias: string | undefined;
  readonly instructions: DockerInstruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Map<string, string | undefined>;
  readonly stages: DockerStage[];
}

/** Joins continuation lines, drops comments, splits into instructions and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: DockerInstruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === undefined)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending ??= { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.filter((p) => p !== '').join(' ');
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(joined);
    if (match === null) throw new Error(`line ${pending.line}: not an instruction: ${joined}`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: pending.line });
    pending = undefined;
  });
  if (pending !== undefined) throw new Error(`line ${pending.line}: continuation at end of file`);

  const globalArgs = new Map<string, string | undefined>();
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (from === null) throw new Error(`line ${instruction.line}: unexpected FROM ${instruction.args}`);
      stages.push({ from: from[1]!, alias: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may precede FROM`);
      const [name, value] = splitAssignment(instruction.args);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function splitAssignment(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq === -1 ? [text.trim(), undefined] : [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
}

export function instructionsOf(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The JSON array of an exec-form instruction (`ENTRYPOINT ["a", "b"]`), or undefined. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not an exec-form array of strings: ${args}`);
  }
  return parsed;
}

/** A HEALTHCHECK's options and command: `--interval=30s ... CMD [...]`. */
export function parseHealthcheck(args: string): { options: Map<string, string>; command: string[] } {
  const match = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/.exec(args);
  if (match === null) throw new Error(`unexpected HEALTHCHECK ${args}`);
  const options = new Map(
    match[1]!
      .trim()
      .split(/\s+/)
      .filter((option) => option !== '')
      .map((option) => splitAssignment(option.slice(2)) as [string, string]),
  );
  return { options, command: execForm(match[2]!) ?? ['/bin/sh', '-c', match[2]!] };
}

/** The stage's ENV as a map (`ENV A=1 B=2` and the legacy `ENV A 1`). Values have no spaces here. */
export function dockerEnv(stage: DockerStage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args, line } of instructionsOf(stage, 'ENV')) {
    const words = args.split(/\s+/);
    if (!words[0]!.includes('=')) {
      env.set(words[0]!, words.slice(1).join(' '));
      continue;
    }
    for (const word of words) {
      const [name, value] = splitAssignment(word);
      if (value === undefined || /["'\s]/.test(value)) throw new Error(`line ${line}: unsupported ENV form: ${word}`);
      env.set(name, value);
    }
  }
  return env;
}

/** COPY/ADD of the build context (not `--from=`): the source paths, relative to the context. */
export function contextSources(stage: DockerStage): string[] {
  const sources: string[] = [];
  for (const instruction of stage.instructions) {
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const words = instruction.args.split(/\s+/);
    const flags = words.filter((word) => word.startsWith('--'));
    if (flags.some((flag) => flag.startsWith('--from='))) continue;
    const paths = words.filter((word) => !word.startsWith('--'));
    if (paths.length < 2)
      throw new Error(`line ${instruction.line}: ${instruction.keyword} needs a source and a destination`);
    sources.push(...paths.slice(0, -1));
  }
  return sources;
}

/** The patterns of the build context's .dockerignore (empty if there is none). */
export function dockerignorePatterns(): string[] {
  if (!repoFileExists('.dockerignore')) return [];
  return readRepoFile('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Whether .dockerignore keeps `path` (or everything under it) out of the build context. */
export function isDockerignored(path: string, patterns: readonly string[]): boolean {
  let ignored = false;
  const candidate = posix.normalize(path).replace(/\/$/, '');
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = posix.normalize((negated ? raw.slice(1) : raw).replace(/^\//, '')).replace(/\/$/, '');
    // A pattern naming a directory excludes what is under it.
    const matches =
      picomatch.isMatch(candidate, pattern, { dot: true }) ||
      picomatch.isMatch(candidate, `${pattern}/**`, { dot: true });
    if (matches) ignored = !negated;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------
// systemd unit files and environment files.

export type UnitFile = Map<string, Array<{ key: string; value: string; line: number }>>;

export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: string | undefined;
  let pending = '';
  text.split('\n').forEach((raw, index) => {
    const line = (pending === '' ? raw.trim() : `${pending} ${raw.trim()}`).trim();
    pending = '';
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1);
      return;
    }
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!;
      if (!unit.has(section)) unit.set(section, []);
      return;
    }
    const entry = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (entry === null || section === undefined)
      throw new Error(`line ${index + 1}: not a Key=Value line in a section: ${line}`);
    unit.get(section)!.push({ key: entry[1]!, value: entry[2]!.trim(), line: index + 1 });
  });
  return unit;
}

/** All values of `key` in `section`, in file order (an empty assignment resets the list). */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  let values: string[] = [];
  for (const entry of unit.get(section) ?? []) {
    if (entry.key !== key) continue;
    values = entry.value === '' ? [] : [...values, entry.value];
  }
  return values;
}

/** The last value of `key` in `section`, or undefined. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unitValues(unit, section, key).at(-1);
}

/** Expands the specifiers these units use (%i, %I, %n, %p, %S, %t, %%) for a system unit. */
export function expandSpecifiers(value: string, unitName: string, instance = ''): string {
  const prefix = unitName.replace(/@.*$/, '').replace(/\.service$/, '');
  const known: Record<string, string> = {
    i: instance,
    I: instance,
    n: unitName.replace('@.', `@${instance}.`),
    p: prefix,
    S: '/var/lib',
    t: '/run',
    '%': '%',
  };
  return value.replace(/%(.)/g, (_all, letter: string) => {
    const expanded = known[letter];
    if (expanded === undefined) throw new Error(`unsupported specifier %${letter} in ${value}`);
    return expanded;
  });
}

/** Splits a space-separated list whose items may be double- or single-quoted. */
export function splitQuoted(value: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of value.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

/** The assignments of all `Environment=` lines of [Service], specifiers expanded. */
export function unitEnvironment(unit: UnitFile, unitName: string, instance = ''): Map<string, string> {
  const env = new Map<string, string>();
  for (const value of unitValues(unit, 'Service', 'Environment')) {
    for (const word of splitQuoted(expandSpecifiers(value, unitName, instance))) {
      const [name, assigned] = splitAssignment(word);
      if (assigned === undefined) throw new Error(`Environment= item without '=': ${word}`);
      env.set(name, assigned);
    }
  }
  return env;
}

/** A systemd EnvironmentFile / compose .env: KEY=value lines, # or ; comments, optional quotes. */
export function parseEnvFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match === null) throw new Error(`line ${index + 1}: not KEY=value: ${line}`);
    const value = match[2]!.trim();
    const quoted = /^"(.*)"$|^'(.*)'$/.exec(value);
    env.set(match[1]!, quoted === null ? value : (quoted[1] ?? quoted[2]!));
  });
  return env;
}

// ---------------------------------------------------------------------------------------
// Compose.

export const COMPOSE_FILE = 'infra/compose.yaml';

/** infra/compose.yaml as data, YAML merge keys (`<<: *anchor`) applied as Compose does. */
export function loadCompose(path = COMPOSE_FILE): Record<string, unknown> {
  const data: unknown = parseYaml(readRepoFile(path), { merge: true, maxAliasCount: 1000 });
  if (!isRecord(data)) throw new Error(`${path} is not a mapping`);
  return data;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface Interpolation {
  readonly name: string;
  /** `-` / `:-` (default), `?` / `:?` (required), `+` / `:+` (alternative), or '' for none. */
  readonly operator: string;
  readonly operand: string;
}

/** The variable references of a Compose string (`$$` is a literal dollar); throws on bad syntax. */
export function interpolations(text: string): Interpolation[] {
  const found: Interpolation[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '$') continue;
    const next = text[i + 1];
    if (next === '$') {
      i += 1;
      continue;
    }
    if (next === '{') {
      const end = text.indexOf('}', i);
      if (end === -1) throw new Error(`unclosed \${ in: ${text}`);
      const body = text.slice(i + 2, end);
      if (body.includes('$')) throw new Error(`nested interpolation is not supported here: ${text}`);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(body);
      if (match === null) throw new Error(`invalid interpolation \${${body}} in: ${text}`);
      found.push({ name: match[1]!, operator: match[2] ?? '', operand: match[3] ?? '' });
      i = end;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare === null) throw new Error(`a lone '$' (write '$$' for a literal dollar) in: ${text}`);
    found.push({ name: bare[0], operator: '', operand: '' });
    i += bare[0].length;
  }
  return found;
}

/** Compose interpolation with `vars` (unset variables take their defaults). */
export function interpolate(text: string, vars: Readonly<Record<string, string | undefined>> = {}): string {
  interpolations(text); // validates
  return text.replace(
    /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced: string | undefined, bare: string | undefined) => {
      if (all === '$$') return '$';
      if (bare !== undefined) return vars[bare] ?? '';
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(braced!)!;
      const [, name, operator = '', operand = ''] = match;
      const value = vars[name!];
      const unsetOrEmpty = value === undefined || (operator.startsWith(':') && value === '');
      switch (operator.replace(':', '')) {
        case '-':
          return unsetOrEmpty ? operand : value;
        case '?':
          if (unsetOrEmpty) throw new Error(`required variable ${name} is not set: ${operand}`);
          return value;
        case '+':
          return unsetOrEmpty ? '' : operand;
        default:
          return value ?? '';
      }
    },
  );
}

/** Every string in a parsed YAML document, with its path (`services.kafka.image`). */
export function walkStrings(value: unknown, path = ''): Array<{ path: string; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => walkStrings(item, `${path}[${index}]`));
  if (isRecord(value)) {
    return Object.entries(value).flatMap(([key, item]) => [
      ...walkStrings(key, `${path} (a key)`),
      ...walkStrings(item, path === '' ? key : `${path}.${key}`),
    ]);
  }
  return [];
}

/** A service's short-syntax volume `source:target[:mode]`, or the long syntax. */
export interface VolumeMount {
  readonly type: 'volume' | 'bind';
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export function parseVolumeMount(entry: unknown): VolumeMount {
  if (isRecord(entry)) {
    const type = entry['type'];
    if (type !== 'volume' && type !== 'bind') throw new Error(`unsupported volume type ${String(type)}`);
    return {
      type,
      source: String(entry['source']),
      target: String(entry['target']),
      readOnly: entry['read_only'] === true,
    };
  }
  if (typeof entry !== 'string') throw new Error(`unexpected volume entry ${String(entry)}`);
  const parts = entry.split(':');
  if (parts.length < 2 || parts.length > 3) throw new Error(`expected source:target[:mode], got ${entry}`);
  const [source, target, mode = 'rw'] = parts as [string, string, string?];
  const modes = mode.split(',');
  if (!modes.every((m) => ['ro', 'rw', 'z', 'Z'].includes(m)))
    throw new Error(`unknown volume mode ${mode} in ${entry}`);
  const isPath = /^(\.|\/|~|\$\{)/.test(source);
  return { type: isPath ? 'bind' : 'volume', source, target, readOnly: modes.includes('ro') };
}

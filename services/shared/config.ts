// Loads a service's configuration from flags, environment and an optional JSON file,
// validated by the service's zod schema (schemas/config.ts). Precedence:
// flag > environment > config file > schema default.
//
// `--help` does not throw: loadConfig writes the usage text and returns HELP_SHOWN, so
// a command does `if (config === HELP_SHOWN) return 0;`. Every other problem is a
// CliError (exit code 2) whose message names the option as the user can write it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { SECRET_KEYS, envName } from '../../schemas/config.ts';
import { describeOptions, formatUsage } from './config-options.ts';
import type { HelpOverrides, OptionSpec } from './config-options.ts';
import { formatIssues } from './config-issues.ts';
import type { ValueSource } from './config-issues.ts';
import { CliError } from './errors.ts';

export { describeOptions, formatUsage } from './config-options.ts';
export type { HelpOverrides, OptionKind, OptionSpec } from './config-options.ts';

/** Returned by loadConfig after it printed the usage for `--help`: exit 0. */
export const HELP_SHOWN: unique symbol = Symbol('mirrorlog.help-shown');

export const CONFIG_FILE_ENV = envName('config');

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Arguments after the subcommand (`process.argv.slice(3)`). */
  readonly argv: readonly string[];
  readonly env: Environment;
  /** First line(s) of `--help`, e.g. `usage: mirrorlog producer --root DIR [options]`. */
  readonly usage: string;
  /** What an option's default means for this command, where the shared help text does not say. */
  readonly help?: HelpOverrides;
  /** Keys to treat as bare flags when their schema is not recognisably boolean. */
  readonly booleanFlags?: readonly string[];
  /** Where `--help` goes; stdout by default. */
  readonly writeHelp?: (text: string) => void;
  /** Reads the config file; injectable so tests need no files. */
  readonly readFile?: (path: string) => string;
}

type Layer = { values: Record<string, unknown>; source: ValueSource };

/** Splits `a,b` into items, but not the commas of a glob's `{x,y}` alternatives. */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '{') depth += 1;
    if (char === '}' && depth > 0) depth -= 1;
    if (char === ',' && depth === 0) {
      items.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

function normalizeForKind(spec: OptionSpec, value: unknown): unknown {
  if (spec.kind !== 'list') return value;
  if (typeof value === 'string') return splitList(value);
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    return items.flatMap((item) => (typeof item === 'string' ? splitList(item) : [item]));
  }
  return value;
}

function parseFlags(
  argv: readonly string[],
  specs: readonly OptionSpec[],
): { values: Record<string, unknown>; help: boolean; configFile: string | undefined } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const spec of specs) {
    options[spec.flag] =
      spec.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: spec.kind === 'list' };
  }
  if ('config' in options || 'help' in options)
    throw new Error('a schema option collides with the built-in --config or --help');
  options['config'] = { type: 'string' };
  options['help'] = { type: 'boolean', short: 'h' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw toCliError(error, Object.keys(options));
  }
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = parsed.values[spec.flag];
    if (value !== undefined) values[spec.key] = normalizeForKind(spec, value);
  }
  const configFile = parsed.values['config'];
  return {
    values,
    help: parsed.values['help'] === true,
    configFile: typeof configFile === 'string' ? configFile : undefined,
  };
}

/** parseArgs' errors quote values and span lines; rewrite them as one line naming the option. */
function toCliError(error: unknown, flags: readonly string[]): Error {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^' ]+)/.exec(message)?.[1] ?? '';
  const known = flags.map((flag) => `--${flag}`).join(', ');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new CliError(`unknown option '${quoted}' (options: ${known})`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new CliError(`unexpected argument '${quoted}': options take the form --name value (options: ${known})`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument'))
        return new CliError(`option '${quoted}' is a bare flag and takes no value`);
      // "argument missing" or "ambiguous" (the next word starts with '-').
      return new CliError(`option '${quoted}' needs a value (write --name=value for a value starting with '-')`);
    default:
      return error instanceof Error ? error : new Error(message);
  }
}

function envLayer(env: Environment, specs: readonly OptionSpec[]): Layer {
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = env[spec.env];
    // An empty variable means "unset", the usual shell idiom for clearing an override.
    if (value !== undefined && value !== '') values[spec.key] = normalizeForKind(spec, value);
  }
  return { values, source: { kind: 'env' } };
}

function fileLayer(path: string, specs: readonly OptionSpec[], readFile: (path: string) => string): Layer {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new CliError(`cannot read config file ${path}: ${(error as { code?: string }).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`config file ${path} must hold one JSON object of options`);
  }
  const byKey = new Map(specs.map((spec) => [spec.key, spec]));
  // `$schema` lets editors validate the file against the exported JSON Schema.
  const unknown = Object.keys(parsed).filter((key) => key !== '$schema' && !byKey.has(key));
  if (unknown.length > 0) {
    const names = unknown.map((key) => `'${key}'`).join(', ');
    throw new CliError(
      `config file ${path}: unknown option${unknown.length > 1 ? 's' : ''} ${names} ` +
        `(options: ${[...byKey.keys()].join(', ')})`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const spec = byKey.get(key);
    if (spec !== undefined) values[key] = normalizeForKind(spec, value);
  }
  return { values, source: { kind: 'file', path } };
}

/**
 * Reads `schema`'s options from `argv`, `env` and the config file (`--config` or
 * MIRRORLOG_CONFIG), validates them, and returns the typed config, or HELP_SHOWN
 * after writing the usage for `--help`. Throws CliError for anything invalid.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  options: LoadConfigOptions,
): z.output<S> | typeof HELP_SHOWN {
  const specs = describeOptions(schema, options.booleanFlags);
  const flags = parseFlags(options.argv, specs);
  if (flags.help) {
    const write = options.writeHelp ?? ((text: string) => process.stdout.write(text));
    write(formatUsage(options.usage, specs, options.help));
    return HELP_SHOWN;
  }
  const envFile = options.env[CONFIG_FILE_ENV];
  const configFile = flags.configFile ?? (envFile === '' ? undefined : envFile);
  const layers: Layer[] = [];
  if (configFile !== undefined)
    layers.push(fileLayer(configFile, specs, options.readFile ?? ((path) => readFileSync(path, 'utf8'))));
  layers.push(envLayer(options.env, specs));
  layers.push({ values: flags.values, source: { kind: 'flag' } });

  const raw: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      raw[key] = value;
      sources.set(key, layer.source);
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const specsByKey = new Map(specs.map((spec) => [spec.key, spec]));
    throw new CliError(formatIssues(result.error.issues, { specs: specsByKey, raw, sources }));
  }
  return result.data;
}

/** A copy of `config` safe to log: every secret option that is set becomes '***'. */
export function redactConfig<T extends object>(config: T): T {
  const copy = { ...config } as Record<string, unknown>;
  for (const key of SECRET_KEYS) {
    if (copy[key] !== undefined) copy[key] = '***';
  }
  return copy as T;
}

/** `$XDG_STATE_HOME/mirrorlog/<name>`, or `~/.local/state/mirrorlog/<name>`. */
export function defaultStateDir(name: string, env: Environment = process.env, home: string = homedir()): string {
  const xdg = env['XDG_STATE_HOME'];
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(home, '.local', 'state');
  return join(base, 'mirrorlog', name);
}

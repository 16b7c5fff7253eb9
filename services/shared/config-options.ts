// The option table of a service, derived from its zod object schema: one entry per
// key with its flag, environment variable, kind and default. Deriving it (instead of
// listing flags by hand) is what lets a new option in schemas/config.ts need no change
// in the loader, the usage text or the error messages.
import type { z } from 'zod';
import { OPTION_HELP } from '../../schemas/config-help.ts';
import { SECRET_KEYS, duration, envName, flagName } from '../../schemas/config.ts';

/** How an option is given on the command line. */
export type OptionKind =
  | 'string' // --name VALUE
  | 'list' // --name A --name B, or --name A,B
  | 'boolean'; // a bare --name

export interface OptionSpec {
  /** camelCase key: the schema key and the config file key. */
  readonly key: string;
  /** Flag without dashes: `s3-endpoint`. */
  readonly flag: string;
  /** Environment variable: `MIRRORLOG_S3_ENDPOINT`. */
  readonly env: string;
  readonly kind: OptionKind;
  readonly required: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  /** Allowed values of an enum option, for usage and error messages. */
  readonly choices: readonly string[] | undefined;
  readonly description: string | undefined;
  readonly secret: boolean;
  /** A duration (`500ms`, `1h`...): its default is shown in units. */
  readonly isDuration: boolean;
}

/** Per-command changes to the `--help` text of an option: what its default means there. */
export type HelpOverrides = Readonly<Record<string, { readonly text?: string; readonly defaultText?: string }>>;

// zod 4 exposes a schema's structure through `_zod.def`; these are the few fields read
// here. Kept structural so a zod upgrade that moves them fails loudly in the unit test.
interface SchemaNode {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly innerType?: SchemaNode;
      readonly in?: SchemaNode;
      readonly options?: readonly SchemaNode[];
      readonly entries?: Readonly<Record<string, string | number>>;
      readonly defaultValue?: unknown;
    };
  };
  readonly description?: string;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The schemas a user value can be checked against first: wrappers, pipes and unions opened. */
function inputLeaves(node: SchemaNode): SchemaNode[] {
  const def = node._zod.def;
  if (WRAPPERS.has(def.type) && def.innerType !== undefined) return inputLeaves(def.innerType);
  if (def.type === 'pipe' && def.in !== undefined) return inputLeaves(def.in);
  if (def.type === 'union' && def.options !== undefined) return def.options.flatMap(inputLeaves);
  return [node];
}

function unwrapped(node: SchemaNode): SchemaNode {
  const def = node._zod.def;
  return WRAPPERS.has(def.type) && def.innerType !== undefined ? unwrapped(def.innerType) : node;
}

/** Walks the outer wrappers (default, optional…) looking for a default value. */
function findDefault(node: SchemaNode): { optional: boolean; hasDefault: boolean; value: unknown } {
  let current: SchemaNode | undefined = node;
  let optional = false;
  while (current !== undefined && WRAPPERS.has(current._zod.def.type)) {
    const def: SchemaNode['_zod']['def'] = current._zod.def;
    if (def.type === 'default' || def.type === 'prefault')
      return { optional: true, hasDefault: true, value: def.defaultValue };
    if (def.type === 'optional') optional = true;
    current = def.innerType;
  }
  return { optional, hasDefault: false, value: undefined };
}

function kindOf(leaves: readonly SchemaNode[]): OptionKind {
  const types = new Set(leaves.map((leaf) => leaf._zod.def.type));
  if (types.has('array')) return 'list';
  if (types.has('boolean')) return 'boolean';
  return 'string';
}

/**
 * One spec per key of `schema`. `booleanFlags` names keys to treat as bare flags even
 * when their schema is not recognisably boolean (e.g. a custom preprocess).
 */
export function describeOptions(schema: z.ZodObject, booleanFlags: readonly string[] = []): OptionSpec[] {
  const forcedBoolean = new Set(booleanFlags);
  return Object.entries(schema.shape).map(([key, field]) => {
    const node = field as unknown as SchemaNode;
    const leaves = inputLeaves(node);
    const kind = forcedBoolean.has(key) ? 'boolean' : kindOf(leaves);
    const found = findDefault(node);
    const enumLeaf = leaves.find((leaf) => leaf._zod.def.type === 'enum');
    const choices =
      kind === 'string' && enumLeaf?._zod.def.entries !== undefined
        ? Object.values(enumLeaf._zod.def.entries).map(String)
        : undefined;
    return {
      key,
      flag: flagName(key),
      env: envName(key),
      kind,
      required: !found.optional,
      hasDefault: found.hasDefault,
      defaultValue: found.value,
      choices,
      description: OPTION_HELP[key]?.text ?? node.description,
      secret: SECRET_KEYS.has(key),
      isDuration: unwrapped(node) === (duration as unknown as SchemaNode),
    };
  });
}

/** `--log-level (MIRRORLOG_LOG_LEVEL)`: how errors name an option, as the user can write it. */
export function optionLabel(spec: OptionSpec): string {
  return `--${spec.flag} (${spec.env})`;
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 604800000 → `7d`, 90000 → `90s`, 5 → `5ms`: the largest unit that divides it (parseDuration reads it back). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of UNITS) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function showDefault(spec: OptionSpec, override: string | undefined): string {
  if (override !== undefined) return `default: ${override}`;
  if (spec.secret) return spec.hasDefault ? 'default: the local stack credential' : 'default: none';
  const computed = OPTION_HELP[spec.key]?.defaultText;
  if (computed !== undefined) return `default: ${computed}`;
  if (!spec.hasDefault) return spec.required ? 'required' : 'default: none';
  const value = spec.defaultValue;
  if (Array.isArray(value)) return value.length === 0 ? 'default: none' : `default: ${value.join(',')}`;
  if (spec.isDuration && typeof value === 'number') return `default: ${formatDuration(value)}`;
  if (spec.kind === 'boolean') return value === true ? 'default: on' : 'default: off';
  if (spec.key.endsWith('Bytes') && typeof value === 'number' && value >= 1024 && value % 1024 === 0)
    return `default: ${value} (${value / 1024} KiB)`;
  return value === '' ? "default: ''" : `default: ${String(value)}`;
}

function placeholder(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return '';
  if (spec.choices !== undefined) return ` <${spec.choices.join('|')}>`;
  if (spec.isDuration) return ' <duration>';
  return spec.kind === 'list' ? ' <value>...' : ' <value>';
}

/** One option's help: what it does (one line), then its default and environment variable (a second line). */
export function describeForHelp(spec: OptionSpec, overrides: HelpOverrides = {}): { text: string; facts: string } {
  const override = overrides[spec.key];
  const facts = [
    showDefault(spec, override?.defaultText),
    spec.env,
    spec.kind === 'list' ? 'repeat or comma-separate' : '',
  ]
    .filter((fact) => fact !== '')
    .join(' · ');
  return { text: override?.text ?? spec.description ?? '', facts };
}

/** The `--help` text: the caller's usage line, then every option with what it does, its default and env var. */
export function formatUsage(usage: string, specs: readonly OptionSpec[], overrides: HelpOverrides = {}): string {
  const rows = specs.map((spec) => ({
    left: `--${spec.flag}${placeholder(spec)}`,
    ...describeForHelp(spec, overrides),
  }));
  rows.push({ left: '--config <file>', text: 'JSON file of options, camelCase keys', facts: 'MIRRORLOG_CONFIG' });
  rows.push({ left: '--help, -h', text: 'show this help', facts: '' });
  return (
    `${usage}\n\noptions (flag > environment > config file > default; durations as 500ms, 30s, 15m, 2h, 7d):\n` +
    `${formatHelpRows(rows)}\n`
  );
}

/** One help row: the flag as written, what it does, then its default and variable (`facts`, may be empty). */
export type HelpRow = { readonly left: string; readonly text: string; readonly facts: string };

/** Help rows in two columns, the facts on a second line under the text. */
export function formatHelpRows(rows: readonly HelpRow[]): string {
  const width = Math.min(32, Math.max(...rows.map((row) => row.left.length)));
  const pad = ' '.repeat(width + 4);
  const lines = rows.map((row) => {
    const head =
      row.left.length > width ? `  ${row.left}\n${pad}${row.text}` : `  ${row.left.padEnd(width)}  ${row.text}`;
    return row.facts === '' ? head : `${head}\n${pad}${row.facts}`;
  });
  return lines.join('\n');
}

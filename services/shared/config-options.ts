// The option table of a service, derived from its zod object schema: one entry per
// key with its flag, environment variable, kind and default. Deriving it (instead of
// listing flags by hand) is what lets a new option in schemas/config.ts need no change
// in the loader, the usage text or the error messages.
import type { z } from 'zod';
import { SECRET_KEYS, envName, flagName } from '../../schemas/config.ts';

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
}

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

/** Walks the outer wrappers (default, optional…) looking for a default value. */
function findDefault(node: SchemaNode): { optional: boolean; hasDefault: boolean; value: unknown } {
  let current: SchemaNode | undefined = node;
  let optional = false;
  while (current !== undefined && WRAPPERS.has(current._zod.def.type)) {
    const def: SchemaNode['_zod']['def'] = current._zod.def;
    if (def.type === 'default' || def.type === 'prefault') return { optional: true, hasDefault: true, value: def.defaultValue };
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
    const choices = kind === 'string' && enumLeaf?._zod.def.entries !== undefined ? Object.values(enumLeaf._zod.def.entries).map(String) : undefined;
    return {
      key,
      flag: flagName(key),
      env: envName(key),
      kind,
      required: !found.optional,
      hasDefault: found.hasDefault,
      defaultValue: found.value,
      choices,
      description: node.description,
      secret: SECRET_KEYS.has(key),
    };
  });
}

/** `--log-level (MIRRORLOG_LOG_LEVEL)`: how errors name an option, as the user can write it. */
export function optionLabel(spec: OptionSpec): string {
  return `--${spec.flag} (${spec.env})`;
}

function showDefault(spec: OptionSpec): string {
  if (spec.secret) return spec.hasDefault ? 'default: the local stack credential' : '';
  if (!spec.hasDefault) return spec.required ? 'required' : '';
  const value = spec.defaultValue;
  if (Array.isArray(value)) return value.length === 0 ? 'default: none' : `default: ${value.join(',')}`;
  return value === '' ? "default: ''" : `default: ${String(value)}`;
}

function placeholder(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return '';
  if (spec.choices !== undefined) return ` <${spec.choices.join('|')}>`;
  return spec.kind === 'list' ? ' <value>...' : ' <value>';
}

/** The `--help` text: the caller's usage line, then every option with its env var and default. */
export function formatUsage(usage: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((spec) => {
    const notes = [spec.description, spec.env, showDefault(spec), spec.kind === 'list' ? 'repeat or comma-separate' : '']
      .filter((note) => note !== undefined && note !== '')
      .join('; ');
    return { left: `--${spec.flag}${placeholder(spec)}`, notes };
  });
  rows.push({ left: '--config <file>', notes: 'MIRRORLOG_CONFIG; JSON file with camelCase keys' });
  rows.push({ left: '--help, -h', notes: 'show this help' });
  const width = Math.min(40, Math.max(...rows.map((row) => row.left.length)));
  const lines = rows.map((row) =>
    row.left.length > width ? `  ${row.left}\n  ${' '.repeat(width)}  ${row.notes}` : `  ${row.left.padEnd(width)}  ${row.notes}`,
  );
  return `${usage}\n\noptions (flag > environment > config file > default):\n${lines.join('\n')}\n`;
}

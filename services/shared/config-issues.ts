// Turns zod's validation issues into operator-facing lines that name the option the
// way the user can write it (flag and env var), say what was expected, and show the
// bad value, except for secrets, which never appear in a message.
import type { z } from 'zod';
import { optionLabel } from './config-options.ts';
import type { OptionSpec } from './config-options.ts';

type Issue = z.core.$ZodIssue;

/** Where a value came from, so the message can point at the layer to fix. */
export type ValueSource = { kind: 'flag' } | { kind: 'env' } | { kind: 'file'; path: string };

export interface IssueContext {
  readonly specs: ReadonlyMap<string, OptionSpec>;
  /** The merged raw input that was validated. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly sources: ReadonlyMap<string, ValueSource>;
}

function valueAt(raw: Readonly<Record<string, unknown>>, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[step];
  }
  return value;
}

function showValue(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** zod's generic messages start with a title ("Too small: expected …"); keep the useful tail. */
function plainMessage(message: string): string {
  const tail = message.replace(/^[A-Z][A-Za-z ]*: /, '');
  return tail.charAt(0).toLowerCase() + tail.slice(1);
}

/** What the option expected, without the value (the caller adds it unless secret). */
export function describeExpectation(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join('|')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_format':
      if (issue.format === 'regex') return `expected ${issue.message}`;
      if (issue.format === 'url') return 'expected an http:// or https:// URL';
      return `expected a valid ${issue.format}`;
    case 'invalid_union': {
      // A branch that failed on something other than the type matched the input's type:
      // its reason is the useful one (e.g. "expected one of true|false" for a boolean).
      const matched = issue.errors.find((branch) => branch.some((inner) => inner.code !== 'invalid_type'));
      const first = matched?.find((inner) => inner.code !== 'invalid_type');
      if (first !== undefined) return describeExpectation(first);
      const expected = issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_type' ? [inner.expected] : []));
      return expected.length > 0 ? `expected ${[...new Set(expected)].join(' or ')}` : plainMessage(issue.message);
    }
    default:
      return plainMessage(issue.message);
  }
}

function describeSource(source: ValueSource | undefined): string {
  if (source === undefined || source.kind === 'flag') return '';
  return source.kind === 'env' ? ` (from the environment)` : ` (from config file ${source.path})`;
}

/** One line per issue, e.g. `invalid --log-level (MIRRORLOG_LOG_LEVEL): expected one of …; got 'loud'`. */
export function formatIssue(issue: Issue, context: IssueContext): string {
  const key = issue.path[0];
  const spec = typeof key === 'string' ? context.specs.get(key) : undefined;
  if (spec === undefined) return `invalid configuration: ${plainMessage(issue.message)}`;
  const label = optionLabel(spec);
  const value = valueAt(context.raw, issue.path);
  if (value === undefined && issue.path.length === 1) return `missing required option ${label}`;
  const element = issue.path.length > 1 ? ` (item ${issue.path.slice(1).map(String).join('.')})` : '';
  let reason = describeExpectation(issue);
  // A custom schema message could quote the input: never let it leak a secret.
  if (spec.secret && typeof value === 'string' && value !== '') reason = reason.replaceAll(value, '***');
  const shown = spec.secret ? '' : showValue(value);
  // Some schema messages already quote the input ("got 'abc'"): do not say it twice.
  const got = spec.secret || reason.includes(shown) ? '' : `; got ${shown}`;
  return `invalid ${label}${element}: ${reason}${got}${describeSource(context.sources.get(spec.key))}`;
}

export function formatIssues(issues: readonly Issue[], context: IssueContext): string {
  return issues.map((issue) => formatIssue(issue, context)).join('\n');
}

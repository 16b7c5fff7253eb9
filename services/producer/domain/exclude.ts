// --exclude patterns, read the way .gitignore (and rsync's --exclude) reads them, matched
// against root-relative paths:
// - a pattern without a `/` (a trailing one aside) matches a name at any depth: `*.tmp`,
//   `.git`, `logs`;
// - a `/` at the start or in the middle anchors it at the root: `/build`, `doc/*.txt`;
// - a trailing `/` matches directories only: `cache/`;
// - `*` and `?` never match a `/`; `[a-z]`, `[!a-z]` are classes; `**/x`, `x/**` and
//   `a/**/b` span directories; `\` escapes the next character; `{a,b}` is an alternation
//   (not gitignore, kept from earlier versions);
// - `!pattern` includes again what an earlier pattern excluded, the last match winning,
//   except below an excluded directory (as in git, its contents are never looked at).
// A path is excluded when it or any of its ancestors is: excluding a directory excludes
// everything below it.

/**
 * Whether a path is excluded. `isDirectory` says whether the path is a directory (for
 * patterns with a trailing `/`); undefined when unknown, then those patterns do not
 * match the path itself (its ancestors are directories, and they are checked).
 */
export type Excluder = (path: string, isDirectory?: boolean) => boolean;

export type ExcludeRule = {
  readonly pattern: string;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  readonly anchored: boolean;
  readonly regex: RegExp;
};

/** One pattern as a rule, or undefined for a blank line or a `#` comment. */
export function compileRule(pattern: string): ExcludeRule | undefined {
  let text = pattern;
  if (text.startsWith('#')) return undefined;
  // Trailing spaces are dropped unless escaped.
  text = text.replace(/(?<!\\) +$/, '');
  let negated = false;
  if (text.startsWith('!')) {
    negated = true;
    text = text.slice(1);
  }
  let directoryOnly = false;
  if (text.endsWith('/') && !text.endsWith('\\/')) {
    directoryOnly = true;
    text = text.replace(/\/+$/, '');
  }
  if (text === '') return undefined;
  const anchored = text.includes('/');
  if (text.startsWith('/')) text = text.slice(1);
  const body = translate(text);
  const regex = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`, 's');
  return { pattern, negated, directoryOnly, anchored, regex };
}

/** Whether `rule` matches `path` itself (ancestors are the excluder's business). */
export function ruleMatches(rule: ExcludeRule, path: string, isDirectory: boolean | undefined): boolean {
  if (rule.directoryOnly && isDirectory !== true) return false;
  return rule.regex.test(path);
}

export function createExcluder(patterns: readonly string[]): Excluder {
  const rules = patterns.map(compileRule).filter((rule): rule is ExcludeRule => rule !== undefined);
  if (rules.length === 0) return () => false;
  const decide = (path: string, isDirectory: boolean | undefined): boolean => {
    let excluded = false;
    for (const rule of rules)
      if (excluded === rule.negated && ruleMatches(rule, path, isDirectory)) excluded = !rule.negated;
    return excluded;
  };
  return (path, isDirectory) => {
    let slash = path.indexOf('/');
    while (slash >= 0) {
      if (decide(path.slice(0, slash), true)) return true;
      slash = path.indexOf('/', slash + 1);
    }
    return decide(path, isDirectory);
  };
}

/**
 * The patterns the watcher can skip without subscribing at all: anchored literal paths
 * (`/build`, `var/cache`), and none at all when a pattern includes something again (its
 * exceptions must still be seen). Everything else is filtered event by event.
 */
export function watcherIgnorePaths(patterns: readonly string[]): string[] {
  const rules = patterns.map(compileRule).filter((rule): rule is ExcludeRule => rule !== undefined);
  if (rules.some((rule) => rule.negated)) return [];
  return rules
    .filter((rule) => rule.anchored && !/[*?[\]{}\\]/.test(rule.pattern))
    .map((rule) => rule.pattern.replace(/^\/+/, '').replace(/\/+$/, ''));
}

const SPECIAL = /[.+^$()|\\]/;

/** The glob body as a regular expression source (anchoring is the caller's). */
function translate(glob: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\' && i + 1 < glob.length) {
      out += escapeChar(glob[++i]!);
    } else if (char === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const next = glob[i + 2];
        if (atStart && next === '/') {
          // `**/`: zero or more directories.
          out += '(?:.*/)?';
          i += 2;
          continue;
        }
        if (atStart && next === undefined) {
          // `/**` at the end: everything inside.
          out += '.*';
          i += 1;
          continue;
        }
      }
      // Any other run of asterisks is one asterisk.
      while (glob[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (char === '?') {
      out += '[^/]';
    } else if (char === '[') {
      const end = classEnd(glob, i);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let inner = glob.slice(i + 1, end);
      const negatedClass = inner.startsWith('!') || inner.startsWith('^');
      if (negatedClass) inner = inner.slice(1);
      out += `[${negatedClass ? '^/' : ''}${inner.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = end;
    } else if (char === '{') {
      braces++;
      out += '(?:';
    } else if (char === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (char === ',' && braces > 0) {
      out += '|';
    } else {
      out += escapeChar(char);
    }
  }
  // An unclosed brace is a literal: give up on alternation and match the text as is.
  return braces > 0 ? [...glob].map(escapeChar).join('') : out;
}

/** Index of the `]` closing the class opened at `start`, or -1. A `]` first in the class is literal. */
function classEnd(glob: string, start: number): number {
  let i = start + 1;
  if (glob[i] === '!' || glob[i] === '^') i++;
  if (glob[i] === ']') i++;
  for (; i < glob.length; i++) if (glob[i] === ']') return i;
  return -1;
}

function escapeChar(char: string): string {
  return SPECIAL.test(char) ||
    char === '[' ||
    char === ']' ||
    char === '{' ||
    char === '}' ||
    char === '*' ||
    char === '?'
    ? `\\${char}`
    : char;
}

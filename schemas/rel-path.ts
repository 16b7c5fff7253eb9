// A path relative to the mirrored root: the key of every record and the only kind of
// path that crosses the wire. Everything the applier writes is derived from one, so the
// checks here are what keeps a hostile record inside the target. Bytes that are not UTF-8
// travel escaped (name-bytes.ts); the limits count the bytes on disk.
import { z } from 'zod';
import { hasEscapedBytes, isCanonicalName, nameByteLength } from './name-bytes.ts';

declare const relPathBrand: unique symbol;
/** A normalized relative path: `/`-separated, no empty, `.` or `..` segment. */
export type RelPath = string & { readonly [relPathBrand]: true };

export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

export type RelPathProblem =
  | 'not-a-string'
  | 'empty'
  | 'absolute'
  | 'nul-byte'
  | 'empty-segment'
  | 'dot-segment'
  | 'dot-dot-segment'
  | 'segment-too-long'
  | 'path-too-long'
  | 'not-unicode'
  | 'not-canonical';

const PROBLEM_TEXT: Record<RelPathProblem, string> = {
  'not-a-string': 'must be a string',
  empty: 'must not be empty',
  absolute: "must be relative (no leading '/')",
  'nul-byte': 'must not contain NUL',
  'empty-segment': "must not contain an empty segment ('//')",
  'dot-segment': "must not contain a '.' segment",
  'dot-dot-segment': "must not contain a '..' segment",
  'segment-too-long': `each segment must be at most ${MAX_SEGMENT_BYTES} bytes`,
  'path-too-long': `must be at most ${MAX_PATH_BYTES} bytes`,
  'not-unicode': 'must be well-formed Unicode',
  'not-canonical': 'must escape bytes as the canonical form does (one text per name)',
};

export function describeRelPathProblem(problem: RelPathProblem): string {
  return PROBLEM_TEXT[problem];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type RelPathResult = { ok: true; path: RelPath } | { ok: false; problem: RelPathProblem };

/**
 * Checks and normalizes a relative path. The only normalization is dropping one
 * trailing '/' (as a directory may be named); anything else unusual is rejected
 * rather than rewritten, so two different inputs never map to one path.
 */
export function parseRelPath(input: unknown): RelPathResult {
  if (typeof input !== 'string') return { ok: false, problem: 'not-a-string' };
  const text = input.length > 1 && input.endsWith('/') ? input.slice(0, -1) : input;
  if (text.length === 0) return { ok: false, problem: 'empty' };
  if (text.startsWith('/')) return { ok: false, problem: 'absolute' };
  if (text.includes('\0')) return { ok: false, problem: 'nul-byte' };
  if (LONE_SURROGATE.test(text)) return { ok: false, problem: 'not-unicode' };
  const escaped = hasEscapedBytes(text);
  if (escaped && !isCanonicalName(text)) return { ok: false, problem: 'not-canonical' };
  const bytes = escaped ? nameByteLength : (part: string) => Buffer.byteLength(part, 'utf8');
  if (bytes(text) > MAX_PATH_BYTES) return { ok: false, problem: 'path-too-long' };
  for (const segment of text.split('/')) {
    if (segment === '') return { ok: false, problem: 'empty-segment' };
    if (segment === '.') return { ok: false, problem: 'dot-segment' };
    if (segment === '..') return { ok: false, problem: 'dot-dot-segment' };
    // A UTF-16 unit is at most 3 bytes on disk: only long segments need counting.
    if (segment.length * 3 > MAX_SEGMENT_BYTES && bytes(segment) > MAX_SEGMENT_BYTES) {
      return { ok: false, problem: 'segment-too-long' };
    }
  }
  return { ok: true, path: text as RelPath };
}

/** For paths built by our own code from already-valid parts: throws on a bug. */
export function relPath(text: string): RelPath {
  const result = parseRelPath(text);
  if (!result.ok)
    throw new TypeError(`invalid relative path ${JSON.stringify(text)}: ${describeRelPathProblem(result.problem)}`);
  return result.path;
}

export const RelPathSchema = z
  .string()
  .meta({
    description:
      "Relative, '/'-separated path: no leading '/', no empty, '.' or '..' segment, no NUL, " +
      'segments <= 255 bytes, whole <= 4096 bytes; bytes that are not UTF-8 as U+EF80-U+EFFF (canonical form)',
  })
  .transform((text, ctx) => {
    const result = parseRelPath(text);
    if (!result.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `path ${describeRelPathProblem(result.problem)}`,
        params: { problem: result.problem },
      });
      return z.NEVER;
    }
    return result.path;
  });

/** The parent directory, '' for an entry at the root. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinRel(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Strict ancestors, outermost first: `a/b/c` → `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const result: string[] = [];
  let slash = path.indexOf('/');
  while (slash >= 0) {
    result.push(path.slice(0, slash));
    slash = path.indexOf('/', slash + 1);
  }
  return result;
}

/** True when `path` lies strictly below `dir` ('' is the root, above everything). */
export function isBelow(path: string, dir: string): boolean {
  return dir === ''
    ? path !== ''
    : path.length > dir.length && path.startsWith(dir) && path.charCodeAt(dir.length) === 47;
}

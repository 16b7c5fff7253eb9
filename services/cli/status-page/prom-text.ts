// Reads the Prometheus text exposition format (what every service's /metrics answers) into
// plain samples, and looks values up by name and labels. Only what the status page needs:
// counters, gauges and histogram series as lines; comments and timestamps are ignored.

export type PromSample = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
};

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (match === null) return undefined;
    labels[match[1]!] = unescape(match[2]!);
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Every sample line of an exposition; a line it cannot read is skipped, not fatal. */
export function parsePromText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels = match[2] === undefined || match[2] === '' ? {} : parseLabels(match[2]);
    if (labels === undefined) continue;
    samples.push({ name: match[1]!, labels, value: parseValue(match[3]!) });
  }
  return samples;
}

/** The samples of one metric whose labels include `match`. */
export function select(
  samples: readonly PromSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): PromSample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The sum of a metric over its labels, or undefined when the service does not export it. */
export function total(samples: readonly PromSample[], name: string): number | undefined {
  const found = select(samples, name);
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/** A metric summed per value of one label: `{ 'special-file': 3, 'not-utf8': 1 }`. */
export function byLabel(
  samples: readonly PromSample[],
  name: string,
  label: string,
): Record<string, number> | undefined {
  const found = select(samples, name);
  if (found.length === 0) return undefined;
  const sums: Record<string, number> = {};
  for (const s of found) {
    const key = s.labels[label] ?? '';
    sums[key] = (sums[key] ?? 0) + s.value;
  }
  return sums;
}

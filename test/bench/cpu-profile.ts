// A summary of a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function,
// highest first, so a run with --cpu-prof can say at once where a service spent its CPU.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** `name (file:line)`; `(program)`, `(garbage collector)` and `(idle)` as V8 names them. */
  where: string;
  selfMs: number;
  share: number;
}

/** The component a frame belongs to: a repository file, an npm package, Node's built-ins, or V8/native code. */
export function componentOf(url: string): string {
  if (url === '') return '(native: V8, GC, syscalls)';
  if (url.startsWith('node:')) return 'node built-ins';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return `node_modules/${pkg[1]}`;
  return url.replace(/^file:\/\//, '').replace(/^.*\/((services|schemas|infra|test)\/)/, '$1');
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/(services|schemas|infra)\//, '$1/');
  return `${name} (${file}:${lineNumber + 1})`;
}

export interface ProfileSummary {
  busyMs: number;
  /** Self time per function (summed over call sites), highest first. */
  hot: HotFunction[];
  /** Self time per component (componentOf), highest first. */
  components: HotFunction[];
  /**
   * Time per function of the repository, counting what it calls outside the repository
   * (libraries, Node, native): each sample goes to its nearest repository frame.
   */
  ownCode: HotFunction[];
}

const isOwnCode = (url: string): boolean => /\/(services|schemas|infra)\//.test(url) && !url.includes('/node_modules/');

/** Where the CPU went; `(idle)` left out of the shares. */
export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  const componentUs = new Map<string, number>();
  const ownUs = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const ownFrame = new Map<number, string>();
  const nearestOwn = (id: number): string => {
    const known = ownFrame.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const found = isOwnCode(node.callFrame.url)
      ? label(node)
      : up === undefined
        ? `(not under repository code) ${componentOf(node.callFrame.url)}`
        : nearestOwn(up);
    ownFrame.set(id, found);
    return found;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (node === undefined) continue;
    const where = label(node);
    // The delta before sample i+1 is the time sample i stood for.
    const us = deltas[i + 1] ?? 0;
    selfUs.set(where, (selfUs.get(where) ?? 0) + us);
    if (where !== '(idle)') {
      const component = componentOf(node.callFrame.url);
      componentUs.set(component, (componentUs.get(component) ?? 0) + us);
      const own = nearestOwn(node.id);
      ownUs.set(own, (ownUs.get(own) ?? 0) + us);
    }
  }
  selfUs.delete('(idle)');
  const busyUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const ranked = (m: Map<string, number>): HotFunction[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, selfMs: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }));
  return { busyMs: busyUs / 1000, hot: ranked(selfUs), components: ranked(componentUs), ownCode: ranked(ownUs) };
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

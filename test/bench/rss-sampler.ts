// Memory (and CPU time) of a process and its descendants, from /proc: VmRSS (resident
// now) and VmHWM (the kernel's own resident high-water mark, which catches spikes between
// samples) of /proc/<pid>/status, utime+stime of /proc/<pid>/stat. Descendants are found
// through the parent pid in /proc/<pid>/stat (this kernel has no /proc/<pid>/task/*/children).
import { readdirSync, readFileSync } from 'node:fs';

export interface StatusMemory {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS and VmHWM of a /proc/<pid>/status text (undefined for a zombie or kernel thread). */
export function parseStatusMemory(text: string): StatusMemory | undefined {
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  if (rss === null || hwm === null) return undefined;
  return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
}

export interface StatFields {
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** Fields of a /proc/<pid>/stat line; the command name may hold spaces and parentheses. */
export function parseStat(text: string): StatFields | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ppid, cpuTicks: utime + stime };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process is gone
  }
}

/** pid → ppid of every process now. */
function parentTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`/proc/${name}/stat`);
    const fields = stat === undefined ? undefined : parseStat(stat);
    if (fields !== undefined) table.set(Number(name), fields.ppid);
  }
  return table;
}

/** `root` and all its descendants alive now. */
export function processTree(root: number): number[] {
  const table = parentTable();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of table) {
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (!table.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux (getconf CLK_TCK)

/**
 * Samples a process tree every `intervalMs` until stopped. The peak reported is the larger
 * of the highest sum of VmRSS over the tree at one sample and the root's VmHWM.
 */
export class RssSampler {
  readonly #root: number;
  readonly #timer: NodeJS.Timeout;
  #tree: number[] = [];
  #samples = 0;
  #peakSumKb = 0;
  #rootHwmKb = 0;
  #lastSumKb = 0;
  #cpuTicks = new Map<number, number>();

  constructor(root: number, intervalMs = 200) {
    this.#root = root;
    this.#tree = [root];
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    if (this.#samples % 5 === 0) this.#tree = processTree(this.#root);
    this.#samples++;
    let sum = 0;
    for (const pid of this.#tree) {
      const status = readText(`/proc/${pid}/status`);
      const memory = status === undefined ? undefined : parseStatusMemory(status);
      if (memory === undefined) continue;
      sum += memory.rssKb;
      if (pid === this.#root) this.#rootHwmKb = Math.max(this.#rootHwmKb, memory.hwmKb);
      const stat = readText(`/proc/${pid}/stat`);
      const fields = stat === undefined ? undefined : parseStat(stat);
      if (fields !== undefined) this.#cpuTicks.set(pid, fields.cpuTicks);
    }
    if (sum > 0) this.#lastSumKb = sum;
    this.#peakSumKb = Math.max(this.#peakSumKb, sum);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get peakMb(): number {
    return Math.max(this.#peakSumKb, this.#rootHwmKb) / 1024;
  }

  get currentMb(): number {
    return this.#lastSumKb / 1024;
  }

  /** CPU seconds used so far by the processes of the tree (as last sampled). */
  get cpuSeconds(): number {
    let ticks = 0;
    for (const t of this.#cpuTicks.values()) ticks += t;
    return ticks / CLOCK_TICKS_PER_S;
  }
}

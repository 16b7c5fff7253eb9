// Tools of the failover e2e: a paced burst of new files, a latency probe (write a file,
// time its arrival in a replica), and per-path record counts of a topic.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { MirrorEvent } from '../../schemas/event.ts';

/** Writes `count` small files under `dir` (100 per directory), about `perSecond` a second. */
export async function pacedBurst(
  root: string,
  dir: string,
  count: number,
  perSecond: number,
  onProgress?: (written: number) => void,
): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < count; i += 1) {
    const sub = path.join(root, dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `${dir} file ${i} ${'x'.repeat(i % 700)}`);
    onProgress?.(i + 1);
    // Pacing is the workload's shape, not a wait for a condition.
    if (i % 50 === 49) {
      const due = started + ((i + 1) / perSecond) * 1000;
      if (due > Date.now()) await delay(due - Date.now());
    }
  }
}

export interface LatencyProbe {
  /** Latencies (ms) of probes, labelled by the phase they started in. */
  readonly samples: Array<{ phase: string; ms: number }>;
  phase: string;
  stop(): Promise<void>;
}

/** Every `everyMs`, writes a file in the source and times its arrival in the replica (bounded at `maxMs`). */
export function startLatencyProbe(source: string, replica: string, everyMs = 1000, maxMs = 300_000): LatencyProbe {
  const samples: Array<{ phase: string; ms: number }> = [];
  let running = true;
  let n = 0;
  fs.mkdirSync(path.join(source, 'probe'), { recursive: true });
  const probe: LatencyProbe = {
    samples,
    phase: 'before',
    stop: async () => {
      running = false;
      await loop;
    },
  };
  const loop = (async () => {
    while (running) {
      const name = `probe/p${n++}.txt`;
      const phase = probe.phase;
      const began = Date.now();
      fs.writeFileSync(path.join(source, name), `probe ${n}`);
      while (!fs.existsSync(path.join(replica, name)) && Date.now() - began < maxMs && running) await delay(20);
      if (fs.existsSync(path.join(replica, name))) samples.push({ phase, ms: Date.now() - began });
      const wait = everyMs - (Date.now() - began);
      if (wait > 0 && running) await delay(wait);
    }
  })();
  return probe;
}

export function summarize(samples: readonly number[]): { n: number; median: number; p95: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { n: sorted.length, median: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 };
}

/** How many records each path has in the log (files written once should have one). */
export function recordsPerPath(events: readonly MirrorEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.path, (counts.get(event.path) ?? 0) + 1);
  return counts;
}

// The services' HTTP endpoints as the benchmark uses them: /readyz polled tightly to time
// readiness, /metrics read for progress and sanity checks.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { nowMs, sleep } from './clock.ts';

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ReadyWait {
  readonly port: number;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Returns a reason to give up (e.g. the process exited), checked at every poll. */
  readonly abort?: () => string | undefined;
  /** Called at most once per second with the last /readyz answer, for progress. */
  readonly onPoll?: (last: HttpAnswer | Error) => void;
  readonly what: string;
}

/** Polls /readyz until it answers 200; returns the time of that answer. */
export async function waitReady(wait: ReadyWait): Promise<number> {
  const started = nowMs();
  let lastReport = 0;
  let last: HttpAnswer | Error = new Error('not polled yet');
  for (;;) {
    const reason = wait.abort?.();
    if (reason !== undefined) throw new Error(`${wait.what}: ${reason}`);
    try {
      last = await httpGet(wait.port, '/readyz', 5000);
      if (last.status === 200) return nowMs();
    } catch (error) {
      last = error as Error;
    }
    const now = nowMs();
    if (now - started > wait.timeoutMs) {
      const detail = last instanceof Error ? last.message : `HTTP ${last.status} ${last.body.slice(0, 300)}`;
      throw new Error(
        `${wait.what}: /readyz not 200 after ${(wait.timeoutMs / 1000).toFixed(0)} s (last answer: ${detail})`,
      );
    }
    if (wait.onPoll !== undefined && now - lastReport >= 1000) {
      lastReport = now;
      wait.onPoll(last);
    }
    await sleep(wait.intervalMs ?? 20);
  }
}

/**
 * Prometheus text exposition → metric name → value summed over all label sets
 * (`_bucket`, `_sum`, `_count` series keep their own names). A metric declared by a
 * `# TYPE` line without any sample yet (a labelled counter never incremented) is 0.
 */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const declared = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (counter|gauge)\b/.exec(line);
    if (declared !== null && !out.has(declared[1]!)) out.set(declared[1]!, 0);
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    out.set(match[1]!, (out.get(match[1]!) ?? 0) + value);
  }
  return out;
}

export async function fetchMetrics(port: number): Promise<Map<string, number> | undefined> {
  try {
    const answer = await httpGet(port, '/metrics', 3000);
    return answer.status === 200 ? parseMetrics(answer.body) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a service's /metrics every `intervalMs` and keeps the latest values (for progress output). */
export class MetricsPoller {
  readonly #port: number;
  readonly #timer: NodeJS.Timeout;
  latest: Map<string, number> | undefined;
  #onUpdate: ((metrics: Map<string, number>) => void) | undefined;

  constructor(port: number, intervalMs = 1000, onUpdate?: (metrics: Map<string, number>) => void) {
    this.#port = port;
    this.#onUpdate = onUpdate;
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
    void this.poll();
  }

  async poll(): Promise<void> {
    const metrics = await fetchMetrics(this.#port);
    if (metrics === undefined) return;
    this.latest = metrics;
    this.#onUpdate?.(metrics);
  }

  get(name: string): number | undefined {
    return this.latest?.get(name);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#onUpdate = undefined;
  }
}

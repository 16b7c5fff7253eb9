// What the status page remembers of each metrics URL between ticks: its service and
// replica (so a port that stops answering keeps its name), counters for rates, and when
// each dead-letter code and reconcile trigger last grew. Pure: time comes in as `at`.
import { PAGE_METRICS as M, type ScrapeResult } from './page-model.ts';
import { byLabel, select, type PromSample } from './prom-text.ts';

export type Counter = { value: number; at: number };

/** What one metrics URL was last seen to be, so a port that stops answering keeps its name. */
export type Endpoint = {
  service: string | undefined;
  replica: string | undefined;
  previous: Map<string, Counter>;
  progress: { at: number; ratio: number }[];
  /** When each dead-letter code's count last grew. */
  codesSeenAt: Map<string, Counter>;
  reconcileTriggers: Map<string, Counter>;
  lastReconcileSeenAt: number | undefined;
};

/** The endpoint `scrape` came from, created on first sight and updated from what it answered. */
export function rememberEndpoint(endpoints: Map<string, Endpoint>, scrape: ScrapeResult, at: number): Endpoint {
  let endpoint = endpoints.get(scrape.url);
  if (endpoint === undefined) {
    endpoint = {
      service: undefined,
      replica: undefined,
      previous: new Map(),
      progress: [],
      codesSeenAt: new Map(),
      reconcileTriggers: new Map(),
      lastReconcileSeenAt: undefined,
    };
    endpoints.set(scrape.url, endpoint);
  }
  if (scrape.samples !== undefined) {
    const samples = scrape.samples;
    endpoint.service = samples.find((s) => s.labels['service'] !== undefined)?.labels['service'] ?? endpoint.service;
    endpoint.replica = select(samples, M.applierInfo)[0]?.labels['replica'] ?? endpoint.replica;
    trackCodes(endpoint, samples, at);
  }
  return endpoint;
}

function trackCodes(endpoint: Endpoint, samples: readonly PromSample[], at: number): void {
  for (const [code, value] of Object.entries(byLabel(samples, M.deadLetters, 'reason') ?? {})) {
    const seen = endpoint.codesSeenAt.get(code);
    if (value > 0 && (seen === undefined || value > seen.value)) endpoint.codesSeenAt.set(code, { value, at });
  }
  for (const [trigger, value] of Object.entries(byLabel(samples, M.reconciles, 'trigger') ?? {})) {
    const seen = endpoint.reconcileTriggers.get(trigger);
    if (value > 0 && (seen === undefined || value > seen.value)) {
      endpoint.reconcileTriggers.set(trigger, { value, at });
      endpoint.lastReconcileSeenAt = at;
    }
  }
}

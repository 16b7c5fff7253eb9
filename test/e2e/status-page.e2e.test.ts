// The status page in a real browser (headless Chromium) against a live producer and two
// appliers: both replicas shown, the lag plot rising during a burst and back to zero after
// it, and a stopped applier turning "stalled". Saves a screenshot and prints its path.
// The first run on a machine installs chromium with apt (a minute or two: hence the long timeout;
// every wait below has its own bound).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, freePort, producerArgs, stackFlags, startService } from '../helpers/services.ts';
import { freshPrefix, freshTopic, waitFor } from '../helpers/stack.ts';

const SCREENSHOT = new URL('../../test-results/status-page.png', import.meta.url);

type Chart = { data: (number | null)[][]; series: { label?: string }[] };
type PlotValues = Record<string, (number | null)[]>;

/** What the lag plot holds now, per replica, from `sinceMs` on: the values uPlot draws. */
async function lagPlot(page: Page, sinceMs: number): Promise<PlotValues> {
  return page.evaluate((since) => {
    const chart = (globalThis as unknown as { mirrorlogStatus: { charts: { lag?: Chart } } }).mirrorlogStatus.charts
      .lag;
    const values: Record<string, (number | null)[]> = {};
    if (chart === undefined) return values;
    const first = (chart.data[0] ?? []).findIndex((x) => (x ?? 0) * 1000 >= since);
    chart.series.forEach((series, i) => {
      if (i > 0 && series.label !== undefined)
        values[series.label] = first < 0 ? [] : (chart.data[i] ?? []).slice(first);
    });
    return values;
  }, sinceMs);
}

async function rowState(page: Page, replica: string): Promise<{ state: string; text: string } | undefined> {
  const row = page.locator(`tr[data-replica="${replica}"]`);
  if ((await row.count()) === 0) return undefined;
  return { state: (await row.getAttribute('data-state')) ?? '', text: await row.innerText() };
}

function writeBurst(root: string, tag: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, tag, `d${i % 40}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.txt`), `${tag} ${i}\n`.repeat(20));
  }
}

test(
  'the status page shows both replicas, plots a burst and shows a stopped applier stalled',
  { timeout: 15 * 60_000 },
  async (t) => {
    const browser = await launchBrowser(t);
    const source = tempDir(t, 'source');
    const topic = freshTopic(t);
    const prefix = freshPrefix();
    const producer = await startService(t, 'producer', producerArgs(source, tempDir(t, 'pstate'), topic, prefix));
    await producer.waitReady();
    const appliers = await Promise.all(
      ['alpha', 'beta'].map(async (name) => {
        const applier = await startService(
          t,
          `applier ${name}`,
          applierArgs(tempDir(t, name), tempDir(t, `${name}-state`), name, topic, prefix),
        );
        await applier.waitReady();
        return applier;
      }),
    );
    const [alpha, beta] = appliers as [(typeof appliers)[0], (typeof appliers)[0]];
    const scrape = [producer, alpha, beta].map((s) => `http://127.0.0.1:${s.port}/metrics`).join(',');
    const pagePort = await freePort();
    await startService(t, 'status page', [
      'status',
      '--serve',
      '--port',
      String(pagePort),
      '--sample',
      '500ms',
      '--stall-after',
      '5s',
      '--scrape',
      scrape,
      ...stackFlags(topic, prefix),
    ]);
    const url = `http://127.0.0.1:${pagePort}/`;
    await waitFor(
      'the status page to answer',
      async () => ((await fetch(url).catch(() => undefined))?.ok ? true : undefined),
      60_000,
      200,
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    // Both replicas appear once each has committed on the topic: give them something to apply.
    writeBurst(source, 'warmup', 5);
    await waitFor(
      'both replicas on the page',
      async () => ((await rowState(page, 'alpha')) && (await rowState(page, 'beta')) ? true : undefined),
      90_000,
      250,
    );
    const producerCard = await page.locator('#producers').innerText();
    assert.match(producerCard, /publish rate/);
    // The watcher's counters exist from the start (0), not only after a first overflow.
    assert.match(producerCard, /watcher overflows\s+0\b/);
    assert.match(producerCard, /unwatched directories\s+0\b/);

    await waitFor(
      'the warm-up to be applied',
      async () => {
        const plot = await lagPlot(page, Date.now() - 1000);
        return plot['alpha']?.at(-1) === 0 && plot['beta']?.at(-1) === 0 ? true : undefined;
      },
      60_000,
      250,
    );
    const burstStart = Date.now();
    const published = (await producer.metric('mirrorlog_producer_events_published_total')) ?? 0;
    writeBurst(source, 'burst', 4000);
    const peaks = await waitFor(
      'the lag plot to rise during the burst',
      async () => {
        const plot = await lagPlot(page, burstStart);
        const peak = (name: string) => Math.max(0, ...(plot[name] ?? []).map((v) => v ?? 0));
        return peak('alpha') > 0 && peak('beta') > 0 ? { alpha: peak('alpha'), beta: peak('beta') } : undefined;
      },
      90_000,
      100,
    );
    // Back to zero once the producer has gone quiet (the watcher may drop some events of a burst; those
    // wait for a reconcile, which is not what this test is about): no new publication for 3 s.
    let quiet = { count: -1, since: Date.now() };
    await waitFor(
      'the producer to go quiet after the burst',
      async () => {
        const count = (await producer.metric('mirrorlog_producer_events_published_total')) ?? 0;
        if (count !== quiet.count) quiet = { count, since: Date.now() };
        return count - published > 1000 && Date.now() - quiet.since >= 3000 ? true : undefined;
      },
      120_000,
      250,
    );
    const publishedAt = Date.now();
    await waitFor(
      'the lag plot to return to zero',
      async () => {
        const plot = await lagPlot(page, publishedAt);
        const last = (name: string) => (plot[name] ?? []).at(-1);
        return last('alpha') === 0 && last('beta') === 0 ? true : undefined;
      },
      120_000,
      250,
    );
    process.stdout.write(`status page: lag rose to ${peaks.alpha} (alpha), ${peaks.beta} (beta) records\n`);
    assert.equal((await rowState(page, 'alpha'))?.state, 'live');

    await beta.kill('SIGTERM');
    writeBurst(source, 'after-stop', 50);
    const stalled = await waitFor(
      'the stopped applier to show as stalled',
      async () => {
        const row = await rowState(page, 'beta');
        return row?.state === 'stalled' ? row : undefined;
      },
      60_000,
      250,
    );
    assert.match(stalled.text, /records to apply/);
    assert.match(stalled.text, /metrics port does not answer/);
    await waitFor(
      'alpha to apply the new files',
      async () => ((await rowState(page, 'alpha'))?.text.match(/\blive\s+0\b/) ? true : undefined),
      60_000,
      250,
    );

    // The test's artifact: in test-results/ of the checkout (CI keeps the clone), or where the variable says.
    const shot = process.env.MIRRORLOG_STATUS_SCREENSHOT ?? fileURLToPath(SCREENSHOT);
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10_000, 'the screenshot holds a rendered page');
    process.stdout.write(`status page screenshot: ${shot}\n`);
  },
);

// Progress of long work: rate and ETA arithmetic, and the JSON lines written when stderr is
// not a terminal (a clock and a writer are injected).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barFields, createProgress, formatEta, progressFacts } from '../../services/shared/progress.ts';

describe('progressFacts', () => {
  it('gives the rate since the start and the ETA it implies', () => {
    assert.deepEqual(progressFacts('x', 250, 1000, 5000), {
      progress: 'x',
      done: 250,
      total: 1000,
      percent: 25,
      ratePerSecond: 50,
      etaSeconds: 15,
      eta: '15s',
      elapsedSeconds: 5,
    });
  });

  it('says estimating until there is a basis: a total, something done, no more done than expected', () => {
    assert.equal(progressFacts('x', 10, undefined, 1000).eta, 'estimating');
    assert.equal(progressFacts('x', 0, 100, 1000).eta, 'estimating');
    assert.equal(progressFacts('x', 120, 100, 1000).eta, 'estimating');
    assert.equal(progressFacts('x', 100, 100, 1000).eta, '0s');
    assert.equal(progressFacts('x', 50, 100, 1000).eta, '1s');
  });

  it('has no ETA without a total or before anything moved', () => {
    assert.equal(progressFacts('x', 10, undefined, 1000).etaSeconds, null);
    assert.equal(progressFacts('x', 10, undefined, 1000).percent, null);
    assert.equal(progressFacts('x', 0, 100, 1000).etaSeconds, null);
  });
});

describe('formatEta', () => {
  it('gives the two largest units', () => {
    assert.deepEqual([0, 40, 75, 3600, 3900, 90_061, 3 * 86_400].map(formatEta), [
      '0s',
      '40s',
      '1m 15s',
      '1h',
      '1h 5m',
      '1d 1h',
      '3d',
    ]);
  });
});

describe('the bar on a terminal', () => {
  it("shows '?' and estimating without a total, the ETA from the rate with one", () => {
    assert.deepEqual(barFields(progressFacts('walk', 500, undefined, 2000)), {
      count: 500,
      rate: 250,
      etaText: 'estimating',
      shownPercent: '?%',
      shownTotal: '?',
    });
    assert.deepEqual(barFields(progressFacts('walk', 500, 2000, 2000)), {
      count: 500,
      rate: 250,
      etaText: '6s',
      shownPercent: '25%',
      shownTotal: '2000',
    });
  });
});

describe('createProgress off a terminal', () => {
  it('writes a JSON line at most every everyMs, and one at the end', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = createProgress('reading the log', {
      tty: false,
      now: () => now,
      everyMs: 5000,
      write: (t) => lines.push(t),
    });
    for (let done = 100; done <= 1000; done += 100) {
      now += 1000;
      progress.update(done, 1000);
    }
    progress.stop();
    const parsed = lines.map(
      (line) => JSON.parse(line) as { done: number; etaSeconds: number | null; ratePerSecond: number },
    );
    assert.deepEqual(
      parsed.map((p) => p.done),
      [500, 1000, 1000],
    );
    assert.equal(parsed[0]!.ratePerSecond, 100);
    assert.equal(parsed[0]!.etaSeconds, 5);
    assert.ok(lines.every((line) => line.endsWith('\n')));
  });
});

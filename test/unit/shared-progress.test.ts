// Progress of long work: rate and ETA arithmetic, and the JSON lines written when stderr is
// not a terminal (a clock and a writer are injected).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress, progressFacts } from '../../services/shared/progress.ts';

describe('progressFacts', () => {
  it('gives the rate since the start and the ETA it implies', () => {
    assert.deepEqual(progressFacts('x', 250, 1000, 5000), {
      progress: 'x',
      done: 250,
      total: 1000,
      percent: 25,
      ratePerSecond: 50,
      etaSeconds: 15,
      elapsedSeconds: 5,
    });
  });

  it('has no ETA without a total or before anything moved', () => {
    assert.equal(progressFacts('x', 10, undefined, 1000).etaSeconds, null);
    assert.equal(progressFacts('x', 10, undefined, 1000).percent, null);
    assert.equal(progressFacts('x', 0, 100, 1000).etaSeconds, null);
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

// Directories whose entries changed are looked at again, together and late: one hint per
// directory per delay however many entries changed in it, none for the root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DIR_TIME_DELAY_MS, DirTimeHints } from '../../services/producer/dir-time-hints.ts';
import { ManualClock } from '../../services/shared/clock.ts';

test('a burst in a directory asks for one look at it, after the delay', () => {
  const clock = new ManualClock();
  const hinted: string[] = [];
  const hints = new DirTimeHints(clock, (dir) => hinted.push(dir));
  for (let i = 0; i < 1000; i++) hints.entryChanged(`news/2026/f${i}.html`);
  hints.entryChanged('img/a.jpg');
  hints.entryChanged('top-level.html');
  clock.advance(DIR_TIME_DELAY_MS - 1);
  assert.deepEqual(hinted, []);
  clock.advance(1);
  assert.deepEqual(hinted.sort(), ['img', 'news/2026']);
  hints.entryChanged('img/b.jpg');
  clock.advance(DIR_TIME_DELAY_MS);
  assert.deepEqual(hinted.sort(), ['img', 'img', 'news/2026']);
});

test('stop drops what is pending', () => {
  const clock = new ManualClock();
  const hinted: string[] = [];
  const hints = new DirTimeHints(clock, (dir) => hinted.push(dir));
  hints.entryChanged('a/b');
  hints.stop();
  clock.advance(DIR_TIME_DELAY_MS * 2);
  assert.deepEqual(hinted, []);
});

// What lstat tells the producer, from bigint stats: exact nanosecond times (a double of ms
// cannot hold them), their floor in whole ms, and the owner, for files, directories and links.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { floorNsToMs } from '../../schemas/event.ts';
import { probeStats } from '../../services/producer/adapters/stat-probe.ts';

test('files, directories and symlinks are probed with exact nanoseconds and their owner', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-probe-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [file, sub, link] = ['f', 'd', 'l'].map((name) => path.join(dir, name)) as [string, string, string];
  fs.writeFileSync(file, 'x');
  fs.mkdirSync(sub);
  fs.symlinkSync('f', link);
  // touch takes nanoseconds; Node's utimes goes through a double of seconds.
  execFileSync('touch', ['-h', '-d', '2026-01-01T00:00:00.123456789Z', file, sub, link]);
  const expected = String(1_767_225_600_123_456_789n);
  for (const [entry, kind] of [
    [file, 'file'],
    [sub, 'dir'],
    [link, 'symlink'],
  ] as const) {
    const probe = probeStats(fs.lstatSync(entry, { bigint: true }));
    assert.equal(probe.kind, kind);
    const { mtimeNs, mtimeMs, owner } = probe as { mtimeNs?: string; mtimeMs?: number; owner?: object };
    assert.equal(mtimeNs, expected, kind);
    assert.equal(mtimeMs, 1_767_225_600_123, kind);
    assert.deepEqual(owner, { uid: process.getuid!(), gid: process.getgid!() });
  }
});

test('whole milliseconds are floored exactly, before 1970 too', () => {
  assert.equal(floorNsToMs(1_999_999n), 1);
  assert.equal(floorNsToMs(-1n), -1);
  assert.equal(floorNsToMs(-1_000_000n), -1);
  assert.equal(floorNsToMs(-1_000_001n), -2);
});

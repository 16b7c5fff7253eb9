// The privilege policy for setuid/setgid bits, as a table: kept with --allow-setid, else stripped and counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permittedMode, stripsSetid } from '../../services/applier/adapters/setid-policy.ts';

describe('setid policy', () => {
  const cases: { mode: number; allow: boolean; permitted: number; strips: boolean }[] = [
    { mode: 0o4755, allow: false, permitted: 0o755, strips: true },
    { mode: 0o2750, allow: false, permitted: 0o750, strips: true },
    { mode: 0o6711, allow: false, permitted: 0o711, strips: true },
    { mode: 0o1777, allow: false, permitted: 0o1777, strips: false }, // sticky is no privilege
    { mode: 0o644, allow: false, permitted: 0o644, strips: false },
    { mode: 0o4755, allow: true, permitted: 0o4755, strips: false },
    { mode: 0o6711, allow: true, permitted: 0o6711, strips: false },
  ];
  for (const c of cases) {
    it(`${c.mode.toString(8)} ${c.allow ? 'with' : 'without'} --allow-setid`, () => {
      assert.equal(permittedMode(c.mode, c.allow), c.permitted);
      assert.equal(stripsSetid(c.mode, c.allow), c.strips);
    });
  }
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  DEAD_LETTER_CODES,
  parseCommitNote,
  encodeCommitNote,
  replicaGroupId,
  replicaOfGroup,
} from '../../schemas/names.ts';

test('the README documents every dead-letter code, and no other', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Reading the dead-letter topic'));
  const documented = [...section.slice(0, section.indexOf('\n### ', 5)).matchAll(/^\| `([a-z-]+)` *\|/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(documented.sort(), Object.keys(DEAD_LETTER_CODES).sort());
});

test('a commit note round-trips, and junk is no note', () => {
  assert.deepEqual(parseCommitNote(encodeCommitNote({ appliedAt: 5 })), { appliedAt: 5 });
  for (const junk of [null, undefined, '', 'x', '{"appliedAt":"5"}']) assert.equal(parseCommitNote(junk), undefined);
});

test('a replica group names its topic', () => {
  assert.equal(replicaGroupId('mirrorlog.events', 'r1'), 'mirrorlog.replica.mirrorlog.events.r1');
  assert.equal(replicaOfGroup('mirrorlog.replica.mirrorlog.events.r1', 'mirrorlog.events'), 'r1');
  // Ambiguous by name alone when one topic name is a prefix of another: `status` keeps
  // only groups that committed offsets on its own topic.
  assert.equal(replicaOfGroup('mirrorlog.replica.mirrorlog.events.r1', 'mirrorlog'), 'events.r1');
  assert.equal(replicaOfGroup('mirrorlog.replica.mirrorlog.events.', 'mirrorlog.events'), undefined);
});

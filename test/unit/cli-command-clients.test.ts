// The one-shot commands refuse a missing topic alike: one line naming it, exit 2 (final),
// as the services do; a topic that exists passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin } from 'kafkajs';
import { requireTopic } from '../../services/cli/command-clients.ts';
import { topicsToRead } from '../../services/cli/gc.ts';
import { CliError } from '../../services/shared/errors.ts';

const adminWith = (topics: string[]) => ({ listTopics: () => Promise.resolve(topics) }) as unknown as Admin;
const finalLine = (message: RegExp) => (error: unknown) =>
  error instanceof CliError && error.exitCode === 2 && message.test(error.message);

test('restore and verify: a missing topic is final (exit 2) and named; an existing one passes', async () => {
  await assert.rejects(
    requireTopic(adminWith(['mirrorlog.a']), 'mirrorlog.b'),
    finalLine(/^topic 'mirrorlog.b' does not exist$/),
  );
  await requireTopic(adminWith(['mirrorlog.a', 'mirrorlog.b']), 'mirrorlog.b');
});

test('gc: its own topic missing is final (exit 2) too', () => {
  assert.throws(
    () => topicsToRead('mirrorlog.a', [], new Set(['mirrorlog.b']), '127.0.0.1:9092'),
    finalLine(/^topic 'mirrorlog.a' does not exist$/),
  );
  assert.deepEqual(topicsToRead('mirrorlog.a', [], new Set(['mirrorlog.a']), '127.0.0.1:9092'), ['mirrorlog.a']);
});

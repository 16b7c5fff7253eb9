// Reproduction: `status` said "in sync" for a replica whose files were dead-lettered,
// during a split group and after a verify found drift, and "STALLED" forever once its
// applier was gone. Against the real broker: each of these is named, and "in sync" is
// said only when none holds.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, trySnapshot } from '../helpers/applier-harness.ts';
import { kafka, kafkaAdmin, stackConfig, waitFor } from '../helpers/stack.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { collectStatus } from '../../services/cli/status.ts';
import { ensureMetadataTopic, thisHost } from '../../services/shared/tree-metadata.ts';
import { publishVerifyResult } from '../../services/shared/verify-record.ts';

test(
  'status names dead letters, a second member, a drifting verify and an applier gone offline',
  { timeout: 240_000 },
  async (t) => {
    const stack = await applierStack(t);
    await ensureMetadataTopic(await kafkaAdmin(t), stack.topic);
    const target = join(stack.dir, 'replica');
    const content = await stack.put('present');
    await stack.publish([events.dir('d'), events.file('d/ok', content)]);
    const applier = await stack.start(stack.config({ target, replica: 'truth' }), {
      heartbeatMs: 300,
      missingRetries: 0,
      missingDelayMs: 10,
    });
    await waitFor('first sync', () =>
      applier.readiness().ready && (trySnapshot(target) ?? '').includes('d/ok') ? true : undefined,
    );
    const status = async (offlineAfterMs = 120_000) => {
      const report = await collectStatus({
        brokers: stackConfig().brokers,
        topic: stack.topic,
        sampleMs: 200,
        stallAfterMs: 60_000,
        offlineAfterMs,
        logLevel: 'silent',
      });
      return report.replicas.find((r) => r.replica === 'truth')!;
    };
    await waitFor('in sync', async () => ((await status()).state === 'in sync' ? true : undefined), 60_000, 300);

    // A record whose content is not in the store: dead-lettered, the lag goes back to 0.
    await stack.publish([events.file('d/lost', { hash: 'ee'.repeat(32), size: 4 })]);
    const lettered = await waitFor(
      'the dead letter to show',
      async () => {
        const s = await status();
        return s.lag === 0 && s.deadLetters === 1 ? s : undefined;
      },
      60_000,
      300,
    );
    assert.equal(lettered.state, 'not in sync');
    assert.deepEqual(lettered.problems, ['1 dead letter(s) outstanding']);

    // A verify that found drift.
    await publishVerifyResult(kafka('verify-test'), stack.topic, {
      v: 1,
      role: 'verify',
      replica: 'truth',
      host: thisHost(),
      target,
      at: Date.now(),
      entries: 3,
      drifts: 585,
    });
    assert.ok((await status()).problems.some((p) => /the last verify .* found 585 drift/.test(p)));

    // A second member in the replica's group (what a duplicate --replica made).
    const intruder = kafka('intruder').consumer({
      groupId: replicaGroupId(stack.topic, 'truth'),
      allowAutoTopicCreation: false,
      sessionTimeout: 6000,
    });
    await intruder.connect();
    t.after(() => intruder.disconnect());
    await intruder.subscribe({ topic: stack.topic, fromBeginning: false });
    await intruder.run({ autoCommit: false, eachMessage: async () => undefined });
    await waitFor(
      'the second member to show',
      async () => ((await status()).members === 2 ? true : undefined),
      60_000,
      300,
    );
    assert.ok((await status()).problems.some((p) => /^2 appliers share this replica's group/.test(p)));
    await intruder.disconnect();

    // The applier gone: offline since its last heartbeat, once past the threshold.
    await applier.stop();
    const offline = await waitFor(
      'offline',
      async () => {
        const s = await status(1000);
        return s.state === 'offline' ? s : undefined;
      },
      60_000,
      500,
    );
    assert.ok(offline.offlineSince !== undefined && offline.offlineSince <= Date.now());
    assert.match(offline.problems[0]!, /^offline since \d{4}-/);
    assert.equal(offline.stalled, false);
  },
);

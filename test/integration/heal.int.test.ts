// Healing (issue 20, M3): a store object deleted or corrupted after its event was published
// is reported by the applier's hash check on the heal topic, uploaded again by the producer
// side's heal responder from the source file, and the replica converges. Real Kafka and S3.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { contentKey } from '../../schemas/content-key.ts';
import { requestMissingContent } from '../../services/cli/heal-scan.ts';
import { HealResponder, healGroup, type HealOutcome } from '../../services/producer/heal-responder.ts';
import { applierStack, events, type ApplierStack } from '../helpers/applier-harness.ts';
import { defer } from '../helpers/cleanup.ts';
import { kafka, kafkaAdmin, minioClient, stackConfig, waitFor } from '../helpers/stack.ts';

const readOrUndefined = (path: string) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

/** The producer side's heal responder on `source`; returns the outcomes it reports. */
async function startResponder(t: TestContext, stack: ApplierStack, source: string, id: string): Promise<HealOutcome[]> {
  const outcomes: HealOutcome[] = [];
  const responder = new HealResponder({
    kafka: kafka(`test-heal-${id}`),
    admin: await kafkaAdmin(t),
    topic: stack.topic,
    source: id,
    root: source,
    store: stack.store,
    logger: pino({ level: 'silent' }),
    onHealed: (outcome) => outcomes.push(outcome),
  });
  await responder.start();
  defer(t, () => responder.stop());
  return outcomes;
}

test('content missing or corrupt in the store is uploaded again on request, and the replica converges', async (t) => {
  const stack = await applierStack(t);
  const source = join(stack.dir, 'source');
  const target = join(stack.dir, 'replica');
  mkdirSync(join(source, 'a'), { recursive: true });
  const missing = randomBytes(20_000);
  const corrupt = randomBytes(30_000);
  writeFileSync(join(source, 'a/missing.bin'), missing);
  writeFileSync(join(source, 'a/corrupt.bin'), corrupt);
  const lost = await stack.put(missing);
  const damaged = await stack.put(corrupt);
  // After publication, the store loses one object and the other is overwritten with other bytes.
  await stack.store.remove(lost.hash);
  await minioClient(t).putObject(
    stackConfig().bucket,
    contentKey(damaged.hash, stack.prefix),
    Buffer.from('not the content'),
  );
  await stack.publish([events.file('a/missing.bin', lost), events.file('a/corrupt.bin', damaged)]);

  const outcomes = await startResponder(t, stack, source, 'it');
  const applier = await stack.start(stack.config({ target, replica: 'heal' }), {
    missingRetries: 1,
    missingDelayMs: 50,
  });

  await waitFor(
    'the replica to hold both files',
    () =>
      readOrUndefined(join(target, 'a/missing.bin'))?.equals(missing) &&
      readOrUndefined(join(target, 'a/corrupt.bin'))?.equals(corrupt)
        ? true
        : undefined,
    90_000,
    200,
  );
  assert.deepEqual(outcomes.sort(), ['uploaded', 'uploaded']);
  const metrics = await applier.registry.metrics();
  assert.match(metrics, /mirrorlog_applier_heal_requests_total\{reason="content-missing",service="applier"\} 1/);
  assert.match(metrics, /mirrorlog_applier_heal_requests_total\{reason="content-mismatch",service="applier"\} 1/);
});

test('gc --heal asks for the referenced content the store lacks, before any replica needs it', async (t) => {
  const stack = await applierStack(t);
  const source = join(stack.dir, 'source');
  mkdirSync(source);
  const lostBytes = randomBytes(20_000);
  const keptBytes = randomBytes(20_000);
  writeFileSync(join(source, 'lost.bin'), lostBytes);
  writeFileSync(join(source, 'kept.bin'), keptBytes);
  const lost = await stack.put(lostBytes);
  const kept = await stack.put(keptBytes);
  await stack.publish([events.file('lost.bin', lost), events.file('kept.bin', kept)]);
  await stack.store.remove(lost.hash);

  const outcomes = await startResponder(t, stack, source, 'it-scan');

  const report = await requestMissingContent(kafka('test-gc-heal'), stack.store, stack.topic);
  assert.deepEqual(report, { objects: 1, records: 2, missing: 1 });
  await waitFor('the lost object uploaded again', async () => ((await stack.store.stat(lost.hash)) ? true : undefined));
  assert.deepEqual(outcomes, ['uploaded'], 'only the missing content was asked for');
});

test('a responder stopped while it is still starting leaves no member in its group', async (t) => {
  const stack = await applierStack(t);
  const admin = await kafkaAdmin(t);
  const responder = new HealResponder({
    kafka: kafka('test-heal-early-stop'),
    admin,
    topic: stack.topic,
    source: 'early-stop',
    root: stack.dir,
    store: stack.store,
    logger: pino({ level: 'silent' }),
  });
  defer(t, () => responder.stop()); // again, should the first stop have left a member
  const starting = responder.start();
  await responder.stop();
  await starting;
  // A member that joined after the stop would stay until its session timed out (30 s), and
  // the group would refuse offset changes meanwhile ("must have no running instances").
  const [group] = (await admin.describeGroups([healGroup(stack.topic, 'early-stop')])).groups;
  assert.deepEqual(group!.members, [], `no member left behind (state ${group!.state})`);
  assert.ok(['Empty', 'Dead'].includes(group!.state), `the group is settled, not ${group!.state}`);
});

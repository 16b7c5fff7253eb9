// The producer names its host and root in the tree's metadata, and refuses a root that
// holds a replica (target or state directory) of the same tree on this host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { producerConfig, startTestProducer, tempDir } from '../helpers/producer.ts';
import { freshTopic, kafka, kafkaAdmin } from '../helpers/stack.ts';
import { startProducer } from '../../services/producer/producer.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { ensureMetadataTopic, publishMember, readMembers, thisHost } from '../../services/shared/tree-metadata.ts';

test("a producer refuses a root that holds a replica's target; its own record names host and root", async (t) => {
  const topic = freshTopic(t);
  const root = fs.realpathSync(tempDir(t, 'overlap-root'));
  const admin = await kafkaAdmin(t);
  await ensureMetadataTopic(admin, topic);
  const client = kafka('overlap-test');
  await publishMember(client, topic, {
    v: 1,
    role: 'applier',
    host: thisHost(),
    replica: 'inside',
    target: path.join(root, 'replica'),
    stateDir: path.join(tempDir(t, 'astate')),
    at: Date.now(),
  });
  const config = producerConfig(t, { root, topic });
  await assert.rejects(
    startProducer(config, { logger: createLogger({ level: 'silent', name: 'producer' }) }),
    new RegExp(
      `--root ${root} overlaps a replica of this tree: ` +
        `the target of replica 'inside' on .* \\(${root}/replica\\) is inside it`,
    ),
  );

  // The same applier on another host names another filesystem: no overlap.
  await publishMember(client, topic, {
    v: 1,
    role: 'applier',
    host: 'elsewhere',
    replica: 'inside',
    target: path.join(root, 'replica'),
    stateDir: '/x',
    at: Date.now(),
  });
  const { config: started } = await startTestProducer(t, { root, topic });
  const members = await readMembers(client, topic);
  const producer = members.find((member) => member.role === 'producer');
  assert.deepEqual(
    producer && { host: producer.host, root: producer.root, stateDir: producer.stateDir, source: producer.source },
    {
      host: thisHost(),
      root,
      stateDir: path.resolve(started.stateDir!),
      source: 'test-source',
    },
  );
});

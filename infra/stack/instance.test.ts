// Private stack instances: names, port bands, and ports recorded once and found again.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { instanceFrom } from './command.ts';
import {
  candidatePorts,
  instanceDir,
  instanceNameProblem,
  instanceOverrides,
  INSTANCES_DIR_ENV,
  recordedInstancePorts,
} from './instance.ts';
import { portClash } from './paths.ts';

test('instance names are single safe directory names', () => {
  for (const good of ['faults', 'test-123abc-faults-1a2b3c4d', 'a.b_c'])
    assert.equal(instanceNameProblem(good), undefined, good);
  for (const bad of ['', '../x', 'a/b', '-x', '.hidden', 'x'.repeat(64)])
    assert.match(instanceNameProblem(bad) ?? '', /instance name/, bad);
  assert.throws(() => instanceDir('../escape', {}, '/home/dev'), /instance name/);
  assert.equal(instanceDir('faults', {}, '/home/dev'), '/home/dev/.local/state/mirrorlog/stacks/faults');
});

test('candidate ports stay below the ephemeral range and never clash, at both ends of their bands', () => {
  // randomInt(min, max) returns min..max-1.
  for (const pick of [(min: number) => min, (_: number, max: number) => max - 1]) {
    const ports = candidatePorts(pick);
    assert.equal(portClash(ports), undefined);
    assert.ok(ports.kafkaPort >= 23_000 && ports.kafkaControllerPort < 28_000, JSON.stringify(ports));
    // SeaweedFS's gRPC block sits at S3 + 10000..10004.
    assert.ok(ports.s3Port >= 20_000 && ports.s3Port + 10_004 < 32_768, JSON.stringify(ports));
  }
});

test('an instance draws free ports once, records them, and finds the same ones again', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mirrorlog-instances-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = { [INSTANCES_DIR_ENV]: root };
  assert.equal(await recordedInstancePorts('one', env), undefined);
  const first = await instanceOverrides('one', env);
  assert.equal(first.stackDir, join(root, 'one'));
  const again = await instanceOverrides('one', env);
  assert.deepEqual(again, first);
  assert.deepEqual(await recordedInstancePorts('one', env), {
    kafkaPort: first.kafkaPort,
    kafkaControllerPort: first.kafkaControllerPort,
    s3Port: first.s3Port,
  });
  assert.notEqual(first.kafkaPort, 9092);
  assert.match(readFileSync(join(root, 'one', 'instance-ports.json'), 'utf8'), new RegExp(String(first.s3Port)));
});

test(
  '--instance: no port flags beside it; ' + 'status of an unknown instance is an error, not a probe of the defaults',
  async () => {
    await assert.rejects(instanceFrom('up', { instance: 'x', 'kafka-port': '1234' }), /chooses its own free ports/);
    await assert.rejects(instanceFrom('status', { instance: 'never-made-' + process.pid }), /no stack instance/);
    await assert.rejects(instanceFrom('up', { instance: '../x' }), /--instance: instance name/);
    assert.deepEqual(await instanceFrom('status', {}), {});
  },
);

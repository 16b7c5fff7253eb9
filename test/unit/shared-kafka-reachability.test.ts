// /readyz follows whether Kafka answers (issue 20, L5): not ready after a failed probe,
// with how long and why; ready again after the next one that succeeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaReachability } from '../../services/shared/kafka-reachability.ts';

const quiet = { warn: () => undefined, info: () => undefined };

describe('KafkaReachability', () => {
  it('turns not-ready while probes fail, and ready again once one succeeds', async () => {
    let now = 1_000_000;
    let answering = true;
    const reachability = new KafkaReachability({
      probe: async () => {
        if (!answering) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
      },
      intervalMs: 5000,
      now: () => now,
      logger: quiet,
    });
    await reachability.check();
    assert.equal(reachability.problem, undefined);
    assert.deepEqual(reachability.readiness({ ready: true }), { ready: true });

    answering = false;
    await reachability.check();
    now += 12_000;
    await reachability.check();
    assert.equal(
      reachability.problem,
      'Kafka is unreachable (for 12 s: Connection error: connect ECONNREFUSED 127.0.0.1:9092)',
    );
    assert.deepEqual(reachability.readiness({ ready: true }), { ready: false, reason: reachability.problem });

    answering = true;
    await reachability.check();
    assert.deepEqual(reachability.readiness({ ready: true }), { ready: true });
  });
});

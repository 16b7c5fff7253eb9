// The local cluster's pure parts: ports, per-node configs, SCRAM format arguments, and
// finding the active controller.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  activeControllerOf,
  bootstrapServers,
  clusterNodeProperties,
  resolveClusterOptions,
  scramFormatArgs,
} from './cluster-config.ts';

const props = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

test('defaults: 3 nodes at 19092-19094 under ~/.local/state/mirrorlog/cluster, beside the single stack', () => {
  const o = resolveClusterOptions({}, {}, '/home/dev');
  assert.equal(o.dir, '/home/dev/.local/state/mirrorlog/cluster');
  assert.deepEqual(bootstrapServers(o), { plaintext: ['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094'] });
  assert.equal(resolveClusterOptions({}, { MIRRORLOG_CLUSTER_BASE_PORT: '29000' }, '/h').basePort, 29000);
  assert.throws(
    () => resolveClusterOptions({}, { MIRRORLOG_CLUSTER_BASE_PORT: 'x' }, '/h'),
    /MIRRORLOG_CLUSTER_BASE_PORT/,
  );
});

test('each node: its own id and listeners, one quorum of all three, topics replicated 3 with 2 in sync', () => {
  const o = { basePort: 19092, nodes: 3, dir: '/c' };
  const [n1, n3] = [props(clusterNodeProperties(o, 0)), props(clusterNodeProperties(o, 2))];
  assert.equal(n1.get('node.id'), '1');
  assert.equal(n3.get('node.id'), '3');
  assert.equal(n3.get('listeners'), 'PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19104');
  assert.equal(n1.get('controller.quorum.voters'), '1@127.0.0.1:19102,2@127.0.0.1:19103,3@127.0.0.1:19104');
  assert.equal(n1.get('log.dirs'), '/c/node-1/data');
  for (const key of [
    'default.replication.factor',
    'offsets.topic.replication.factor',
    'transaction.state.log.replication.factor',
  ])
    assert.equal(n1.get(key), '3', key);
  assert.equal(n1.get('min.insync.replicas'), '2');
  assert.equal(n1.get('unclean.leader.election.enable'), 'false');
  assert.equal(n1.has('ssl.keystore.location'), false);
});

test(
  'with security: TLS (client certificates required) and SASL over TLS listeners, ' +
    'PLAIN users in JAAS, SCRAM users at format',
  () => {
    const security = {
      caFile: '/certs/ca.pem',
      keystoreFile: '/certs/broker.pem',
      users: [
        { mechanism: 'PLAIN' as const, name: 'pat', password: 'p1' },
        { mechanism: 'SCRAM-SHA-512' as const, name: 'sam', password: 's2' },
      ],
    };
    const n2 = props(clusterNodeProperties({ basePort: 19092, nodes: 3, dir: '/c', security }, 1));
    assert.equal(
      n2.get('listeners'),
      'PLAINTEXT://127.0.0.1:19093,CONTROLLER://127.0.0.1:19103,SSL://127.0.0.1:19113,SASL_SSL://127.0.0.1:19123',
    );
    assert.equal(n2.get('listener.name.ssl.ssl.client.auth'), 'required');
    assert.equal(n2.get('ssl.truststore.location'), '/certs/ca.pem');
    assert.match(n2.get('listener.name.sasl_ssl.plain.sasl.jaas.config') ?? '', /user_pat="p1"/);
    assert.doesNotMatch(n2.get('listener.name.sasl_ssl.plain.sasl.jaas.config') ?? '', /sam/);
    assert.deepEqual(scramFormatArgs(security), ['--add-scram', 'SCRAM-SHA-512=[name=sam,password=s2]']);
    assert.deepEqual(bootstrapServers({ basePort: 19092, nodes: 3, security }).saslTls, [
      '127.0.0.1:19122',
      '127.0.0.1:19123',
      '127.0.0.1:19124',
    ]);
  },
);

test('the active controller is the leader named at the highest epoch; unknown without one', () => {
  const state = (leaderId: number, leaderEpoch: number) => JSON.stringify({ leaderId, leaderEpoch, votedId: -1 });
  assert.equal(activeControllerOf([state(2, 1), state(3, 4), undefined, '{torn']), 3);
  assert.equal(activeControllerOf([state(-1, 5), undefined]), undefined);
  assert.equal(activeControllerOf([]), undefined);
});

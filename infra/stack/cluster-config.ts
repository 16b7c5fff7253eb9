// A local Kafka cluster of several KRaft nodes on loopback (`mirrorlog stack up
// --cluster`), beside the single-broker stack: its own ports and state directory. Every
// node is broker and controller; the quorum is all of them, so killing any one leaves a
// majority. This file is the pure part: ports, options and each node's server.properties.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLUSTER_ENV = {
  dir: 'MIRRORLOG_CLUSTER_DIR',
  basePort: 'MIRRORLOG_CLUSTER_BASE_PORT',
} as const;

/** Node i (0-based) listens at base+i (clients), base+10+i (controller), base+20+i (TLS), base+30+i (SASL over TLS). */
export const DEFAULT_CLUSTER_BASE_PORT = 19092;
export const DEFAULT_CLUSTER_NODES = 3;

/** A SASL user the cluster is formatted with (SCRAM) or configured with (PLAIN). */
export interface ClusterUser {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  name: string;
  password: string;
}

/** Turns on the TLS listeners: PEM files the caller made (the tests make them with openssl). */
export interface ClusterSecurity {
  /** The CA that signed the broker's certificate and the clients'. */
  caFile: string;
  /** Private key (PKCS#8, unencrypted) and certificate of the brokers, in one PEM file. */
  keystoreFile: string;
  users: readonly ClusterUser[];
}

export interface ClusterOptions {
  cacheDir: string;
  /** Data, pid files and logs of every node: `~/.local/state/mirrorlog/cluster`. */
  dir: string;
  nodes: number;
  basePort: number;
  /** JVM heap ceiling of each node. */
  heap: string;
  startTimeoutMs: number;
  security?: ClusterSecurity;
  log: (line: string) => void;
}

export type ClusterOverrides = Partial<ClusterOptions>;

export interface NodePorts {
  nodeId: number;
  client: number;
  controller: number;
  tls: number;
  saslTls: number;
}

export function nodePorts(basePort: number, index: number): NodePorts {
  return {
    nodeId: index + 1,
    client: basePort + index,
    controller: basePort + 10 + index,
    tls: basePort + 20 + index,
    saslTls: basePort + 30 + index,
  };
}

export function clusterNodes(o: Pick<ClusterOptions, 'basePort' | 'nodes'>): NodePorts[] {
  return Array.from({ length: o.nodes }, (_, i) => nodePorts(o.basePort, i));
}

/** What clients connect to, per listener. */
export interface BootstrapServers {
  plaintext: string[];
  tls?: string[];
  saslTls?: string[];
}

export function bootstrapServers(o: Pick<ClusterOptions, 'basePort' | 'nodes' | 'security'>): BootstrapServers {
  const nodes = clusterNodes(o);
  const at = (pick: (n: NodePorts) => number) => nodes.map((n) => `127.0.0.1:${pick(n)}`);
  return {
    plaintext: at((n) => n.client),
    ...(o.security === undefined ? {} : { tls: at((n) => n.tls), saslTls: at((n) => n.saslTls) }),
  };
}

export function resolveClusterOptions(
  overrides: ClusterOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): ClusterOptions {
  const fromEnv = env[CLUSTER_ENV.basePort];
  const basePort =
    overrides.basePort ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : DEFAULT_CLUSTER_BASE_PORT);
  const nodes = overrides.nodes ?? DEFAULT_CLUSTER_NODES;
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 30 + nodes > 65535) {
    throw new RangeError(`${CLUSTER_ENV.basePort}: expected a port 1024-65000, got '${fromEnv ?? basePort}'`);
  }
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9)
    throw new RangeError(`cluster nodes: expected 1-9, got ${nodes}`);
  const dirEnv = env[CLUSTER_ENV.dir];
  return {
    cacheDir:
      overrides.cacheDir ??
      (env.MIRRORLOG_CACHE_DIR ? resolve(env.MIRRORLOG_CACHE_DIR) : join(home, '.cache', 'mirrorlog')),
    dir:
      overrides.dir ??
      (dirEnv !== undefined && dirEnv !== '' ? resolve(dirEnv) : join(home, '.local', 'state', 'mirrorlog', 'cluster')),
    nodes,
    basePort,
    heap: overrides.heap ?? '384m',
    startTimeoutMs: overrides.startTimeoutMs ?? 180_000,
    ...(overrides.security === undefined ? {} : { security: overrides.security }),
    log: overrides.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

export function nodeDir(o: Pick<ClusterOptions, 'dir'>, nodeId: number): string {
  return join(o.dir, `node-${nodeId}`);
}

type Property = [string, string | number | boolean];

function securityProperties(security: ClusterSecurity): Property[] {
  const plainUsers = security.users.filter((u) => u.mechanism === 'PLAIN');
  const jaasPlain = [
    'org.apache.kafka.common.security.plain.PlainLoginModule required',
    // The broker's own identity on this listener is not used (inter-broker is PLAINTEXT).
    ...plainUsers.map((u) => ` user_${u.name}="${u.password}"`),
    ';',
  ].join('');
  return [
    ['ssl.keystore.type', 'PEM'],
    ['ssl.keystore.location', security.keystoreFile],
    ['ssl.truststore.type', 'PEM'],
    ['ssl.truststore.location', security.caFile],
    // The TLS listener authenticates clients by certificate; the SASL one by user and password.
    ['listener.name.ssl.ssl.client.auth', 'required'],
    ['listener.name.sasl_ssl.ssl.client.auth', 'none'],
    ['sasl.enabled.mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512'],
    ['listener.name.sasl_ssl.plain.sasl.jaas.config', jaasPlain],
    [
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config',
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    ],
    [
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config',
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    ],
  ];
}

/** server.properties of node `index` of the cluster. */
export function clusterNodeProperties(
  o: Pick<ClusterOptions, 'basePort' | 'nodes' | 'dir' | 'security'>,
  index: number,
): string {
  const nodes = clusterNodes(o);
  const me = nodes[index]!;
  const secure = o.security !== undefined;
  const listeners = [`PLAINTEXT://127.0.0.1:${me.client}`, `CONTROLLER://127.0.0.1:${me.controller}`];
  const advertised = [`PLAINTEXT://127.0.0.1:${me.client}`];
  if (secure) {
    listeners.push(`SSL://127.0.0.1:${me.tls}`, `SASL_SSL://127.0.0.1:${me.saslTls}`);
    advertised.push(`SSL://127.0.0.1:${me.tls}`, `SASL_SSL://127.0.0.1:${me.saslTls}`);
  }
  const replicas = Math.min(3, o.nodes);
  const minIsr = Math.max(1, replicas - 1);
  const lines: Property[] = [
    ['process.roles', 'broker,controller'],
    ['node.id', me.nodeId],
    ['controller.quorum.voters', nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controller}`).join(',')],
    ['listeners', listeners.join(',')],
    ['advertised.listeners', advertised.join(',')],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL'],
    ['log.dirs', join(nodeDir(o, me.nodeId), 'data')],
    // A cluster: internal topics replicated like a production one (3 copies, 2 in sync).
    ['offsets.topic.replication.factor', replicas],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', replicas],
    ['transaction.state.log.min.isr', minIsr],
    ['transaction.state.log.num.partitions', 10],
    ['share.coordinator.state.topic.replication.factor', replicas],
    ['share.coordinator.state.topic.min.isr', minIsr],
    ['share.coordinator.state.topic.num.partitions', 10],
    ['default.replication.factor', replicas],
    ['min.insync.replicas', minIsr],
    ['num.partitions', 1],
    // A follower that stops fetching leaves the ISR after this long (the broker default 30 s).
    ['replica.lag.time.max.ms', 10_000],
    // Never elect a leader that may lack acknowledged writes.
    ['unclean.leader.election.enable', false],
    ['group.initial.rebalance.delay.ms', 0],
    ['log.cleaner.enable', true],
    ['log.cleaner.dedupe.buffer.size', 16 * 1024 * 1024],
    ['log.cleaner.threads', 1],
    ['num.network.threads', 2],
    ['num.io.threads', 2],
    ['num.replica.fetchers', 1],
    ['num.recovery.threads.per.data.dir', 1],
    ...(secure ? securityProperties(o.security!) : []),
  ];
  const body = lines.map(([k, v]) => `${k}=${v}`).join('\n');
  return `# Written by mirrorlog stack on every start; edits are overwritten.\n${body}\n`;
}

/** `--add-scram` arguments of the storage format: SCRAM users exist from the first start. */
export function scramFormatArgs(security: ClusterSecurity | undefined): string[] {
  if (security === undefined) return [];
  return security.users
    .filter((u) => u.mechanism !== 'PLAIN')
    .flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
}

/** The quorum leader from the nodes' `quorum-state` files: the id named at the highest epoch. */
export function activeControllerOf(states: ReadonlyArray<string | undefined>): number | undefined {
  let best: { id: number; epoch: number } | undefined;
  for (const text of states) {
    if (text === undefined) continue;
    try {
      const parsed = JSON.parse(text) as { leaderId?: number; leaderEpoch?: number };
      const { leaderId, leaderEpoch } = parsed;
      if (typeof leaderId !== 'number' || leaderId < 0 || typeof leaderEpoch !== 'number') continue;
      if (best === undefined || leaderEpoch > best.epoch) best = { id: leaderId, epoch: leaderEpoch };
    } catch {
      // a torn write: another node's file says the same
    }
  }
  return best?.id;
}

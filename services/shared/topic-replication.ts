// How many copies of the log a cluster keeps. On 3+ brokers mirrorlog's topics get 3
// replicas and min.insync.replicas 2 unless told otherwise: with acks from all in-sync
// replicas, an acknowledged write then survives the loss of any one broker. One replica
// on a multi-broker cluster is refused unless the operator says so, since the loss of one
// broker would then lose acknowledged changes. The decision is pure; the cluster size is
// asked of the brokers by the caller.
import type { Admin } from 'kafkajs';
import type { CommonConfig } from '../../schemas/config.ts';
import { CliError } from './errors.ts';

export type ReplicationConfig = Pick<CommonConfig, 'replicationFactor' | 'minInsyncReplicas' | 'allowSingleReplica'>;

export interface ReplicationSettings {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** An existing topic with one replica is refused too (multi-broker, not allowed). */
  readonly refuseSingleReplica: boolean;
}

/** The replication of new topics on a cluster of `brokers` brokers, or a one-line error (exit 2). */
export function decideReplication(brokers: number, config: ReplicationConfig): ReplicationSettings {
  const replicationFactor = config.replicationFactor ?? Math.min(3, Math.max(1, brokers));
  if (replicationFactor > brokers) {
    throw new CliError(
      `--replication-factor ${replicationFactor} (MIRRORLOG_REPLICATION_FACTOR): ` +
        `the cluster has only ${brokers} broker(s)`,
    );
  }
  const refuseSingleReplica = brokers > 1 && !config.allowSingleReplica;
  if (replicationFactor === 1 && refuseSingleReplica) {
    throw new CliError(
      `replication factor 1 on a ${brokers}-broker cluster: losing one broker would lose acknowledged changes; ` +
        `use --replication-factor ${Math.min(3, brokers)}, ` +
        `or --allow-single-replica (MIRRORLOG_ALLOW_SINGLE_REPLICA) to accept it`,
    );
  }
  const minInsyncReplicas = config.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
  if (minInsyncReplicas > replicationFactor) {
    throw new CliError(
      `--min-insync-replicas ${minInsyncReplicas} (MIRRORLOG_MIN_INSYNC_REPLICAS) ` +
        `is more than the replication factor ${replicationFactor}: no write could succeed`,
    );
  }
  return { replicationFactor, minInsyncReplicas, refuseSingleReplica };
}

/** Asks the brokers how many they are, then decides. */
export async function replicationFor(admin: Admin, config: ReplicationConfig): Promise<ReplicationSettings> {
  const { brokers } = await admin.describeCluster();
  return decideReplication(brokers.length, config);
}

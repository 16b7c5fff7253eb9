// Whether Kafka answers, for /readyz: a service whose broker is gone keeps retrying
// quietly (kafkajs reconnects by itself), and used to say "ready" all along (issue 20,
// L5). A cheap request every `intervalMs` on a client of its own (no retries: one
// failure is one answer) tells; readiness turns false after a failed probe and back
// once one succeeds.
import { settleWithin } from './deadline.ts';
import type { Admin } from 'kafkajs';
import type { KafkaClientSecurity } from './kafka-security.ts';
import { createKafka } from './kafka.ts';
import type { Logger } from './logger.ts';

export interface KafkaReachabilityOptions {
  /** One request to the cluster; rejects when it does not answer. */
  readonly probe: () => Promise<void>;
  /** Closes what the probe holds open (its connection), at stop. */
  readonly close?: () => Promise<void>;
  readonly intervalMs: number;
  readonly now: () => number;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
}

export class KafkaReachability {
  private failingSince: number | undefined;
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly options: KafkaReachabilityOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops probing and closes the probe's connection (bounded: a broker that is gone must not hold a stop). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.close !== undefined) await settleWithin(this.options.close(), 5000);
  }

  /** Why Kafka counts as unreachable now, or undefined. */
  get problem(): string | undefined {
    if (this.failingSince === undefined) return undefined;
    const seconds = Math.round((this.options.now() - this.failingSince) / 1000);
    return `Kafka is unreachable (for ${seconds} s: ${this.lastError})`;
  }

  /** `otherwise`, unless Kafka is unreachable: then not ready, with the reason. */
  readiness(otherwise: { ready: boolean; reason?: string }): { ready: boolean; reason?: string } {
    const problem = this.problem;
    return problem === undefined ? otherwise : { ready: false, reason: problem };
  }

  /** One probe (also run by the timer); never rejects. */
  async check(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.options.probe();
      if (this.failingSince !== undefined) this.options.logger.info('Kafka answers again');
      this.failingSince = undefined;
    } catch (error) {
      this.lastError = (error instanceof Error ? error.message : String(error)).slice(0, 200);
      if (this.failingSince === undefined) {
        this.failingSince = this.options.now();
        this.options.logger.warn({ err: error }, 'Kafka does not answer; not ready until it does');
      }
    } finally {
      this.probing = false;
    }
  }
}

/** A probe on an admin client (created with no retries): connects when needed, asks for the cluster. */
export function adminProbe(admin: Admin): () => Promise<void> {
  let connected = false;
  return async () => {
    try {
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      await admin.describeCluster();
    } catch (error) {
      connected = false;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  };
}

/** Probing every 5 s: a broker outage shows in /readyz within seconds, at one tiny request per interval. */
export const REACHABILITY_INTERVAL_MS = 5000;

/** A started KafkaReachability on a client of its own (no retries), for a service's /readyz. */
export function watchKafka(
  brokers: readonly string[],
  clientId: string,
  logger: Logger,
  security?: KafkaClientSecurity,
): KafkaReachability {
  const kafka = createKafka({
    brokers: [...brokers],
    clientId: `${clientId}-probe`,
    logger,
    ...(security === undefined ? {} : { security }),
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const reachability = new KafkaReachability({
    probe: adminProbe(admin),
    close: () => admin.disconnect(),
    intervalMs: REACHABILITY_INTERVAL_MS,
    now: Date.now,
    logger,
  });
  reachability.start();
  return reachability;
}

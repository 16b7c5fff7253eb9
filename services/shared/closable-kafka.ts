// A Kafka client whose admins and consumers are remembered, for a command that may give
// up on them (a deadline) and must still close every connection it opened.
import type { Kafka } from 'kafkajs';
import { settleWithin } from './deadline.ts';

/** A Kafka client whose admins and consumers are remembered, so that one who gives up on them can close them all. */
export interface ClosableKafka {
  readonly kafka: Kafka;
  /** Disconnects every client made so far; bounded, never rejects. */
  closeAll(): Promise<void>;
}

export function closableKafka(kafka: Kafka, closeWithinMs = 2000): ClosableKafka {
  const opened = new Set<{ disconnect(): Promise<void> }>();
  const tracked = Object.create(kafka) as Kafka;
  tracked.admin = (config) => remember(kafka.admin(config));
  tracked.consumer = (config) => remember(kafka.consumer(config));
  function remember<C extends { disconnect(): Promise<void> }>(client: C): C {
    opened.add(client);
    return client;
  }
  return {
    kafka: tracked,
    closeAll: () => settleWithin(Promise.allSettled([...opened].map((client) => client.disconnect())), closeWithinMs),
  };
}

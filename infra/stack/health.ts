// Is a server answering? Kafka: a metadata request through the kafkajs admin client.
// S3: a bucket call through the minio client. Each probe is bounded in time.
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { Client as MinioClient } from 'minio';

export interface Probe {
  ok: boolean;
  detail: string;
}

const PROBE_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** What one metadata request says about a Kafka cluster. */
export interface KafkaMetadata {
  brokerIds: number[];
  controller: number | null;
  clusterId: string;
}

/** One bounded metadata request through the kafkajs admin client (no retries): the answer, or why there is none. */
export async function describeKafka(
  brokers: string[],
): Promise<{ ok: true; metadata: KafkaMetadata } | { ok: false; detail: string }> {
  const kafka = new Kafka({
    clientId: 'mirrorlog-stack',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    const cluster = await withTimeout(
      admin.connect().then(() => admin.describeCluster()),
      PROBE_TIMEOUT_MS,
      'kafka metadata request',
    );
    return {
      ok: true,
      metadata: {
        brokerIds: cluster.brokers.map((b) => b.nodeId),
        controller: cluster.controller,
        clusterId: cluster.clusterId,
      },
    };
  } catch (error) {
    return { ok: false, detail: messageOf(error) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function probeKafka(brokers: string[]): Promise<Probe> {
  const answer = await describeKafka(brokers);
  if (!answer.ok) return answer;
  const { brokerIds, controller, clusterId } = answer.metadata;
  return { ok: true, detail: `${brokerIds.length} broker(s), controller ${controller}, cluster ${clusterId}` };
}

export interface S3Settings {
  port: number;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  /** https with this CA (PEM) instead of http. */
  ca?: Buffer;
}

/** Runs `use` with a minio client whose sockets are all closed afterwards. */
async function withMinio<T>(s: S3Settings, use: (client: MinioClient) => Promise<T>): Promise<T> {
  const agent = s.ca === undefined ? new Agent({ keepAlive: false }) : new HttpsAgent({ keepAlive: false, ca: s.ca });
  const client = new MinioClient({
    endPoint: '127.0.0.1',
    port: s.port,
    useSSL: s.ca !== undefined,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    region: s.region,
    pathStyle: true,
    transportAgent: agent,
  });
  try {
    return await withTimeout(use(client), PROBE_TIMEOUT_MS, 's3 request');
  } finally {
    agent.destroy();
  }
}

/** A signed bucket call: proves S3 is up and accepts the stack's credentials. */
export async function probeS3(s: S3Settings): Promise<Probe> {
  try {
    const exists = await withMinio(s, (client) => client.bucketExists(s.bucket));
    return {
      ok: true,
      detail: exists ? `bucket ${s.bucket} present` : `answering; bucket ${s.bucket} not created yet`,
    };
  } catch (error) {
    return { ok: false, detail: messageOf(error) };
  }
}

/** Creates the bucket unless it exists. */
export async function ensureBucket(s: S3Settings): Promise<void> {
  await withMinio(s, async (client) => {
    if (await client.bucketExists(s.bucket)) return;
    try {
      await client.makeBucket(s.bucket, s.region);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
    }
  });
}

const READY_PROBE_KEY = '.mirrorlog-stack/ready-probe';

/**
 * Creates the bucket if needed, then writes and deletes one small object. Stricter than
 * probeS3: after a restart SeaweedFS answers reads at once but holds writes for ~15 s
 * while its master "warms up"; `up` waits for this so tests never meet that window.
 */
export async function probeS3Writable(s: S3Settings): Promise<Probe> {
  try {
    await withMinio(s, async (client) => {
      if (!(await client.bucketExists(s.bucket))) await client.makeBucket(s.bucket, s.region);
      await client.putObject(s.bucket, READY_PROBE_KEY, Buffer.from('ok'), 2);
      await client.removeObject(s.bucket, READY_PROBE_KEY);
    });
    return { ok: true, detail: `bucket ${s.bucket} accepts writes` };
  } catch (error) {
    return { ok: false, detail: messageOf(error) };
  }
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Checked between attempts: a reason to stop waiting (the process died), or undefined. */
  giveUp?: () => Promise<string | undefined>;
}

export type WaitResult = { ok: true; detail: string } | { ok: false; reason: string };

/** Polls `probe` until it succeeds, `giveUp` gives a reason, or time runs out. */
export async function waitUntilHealthy(probe: () => Promise<Probe>, options: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'not probed';
  for (;;) {
    const result = await probe();
    if (result.ok) return { ok: true, detail: result.detail };
    last = result.detail;
    const reason = options.giveUp === undefined ? undefined : await options.giveUp();
    if (reason !== undefined) return { ok: false, reason };
    if (Date.now() >= deadline)
      return {
        ok: false,
        reason: `not healthy after ${Math.round(options.timeoutMs / 1000)} s (last answer: ${last})`,
      };
    await delay(options.intervalMs ?? 500);
  }
}

/** The ports among `ports` that something on 127.0.0.1 already listens on. */
export async function busyPorts(ports: number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolveFree(true)));
    });
    if (!free) busy.push(port);
  }
  return busy;
}

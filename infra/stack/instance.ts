// Private stack instances: a stack with its own state directory and its own ports, so a
// test that stops Kafka or S3 stops only its own servers, never the default stack a
// running `npm start` mirror (or another test) uses. An instance's ports are chosen free
// when it is first brought up and recorded in its directory, so later `status`/`down`
// calls (and the servers' own restarts) find it again.
import { randomInt } from 'node:crypto';
import { readFile, mkdir, writeFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyPorts } from './health.ts';
import { portClash, stackPorts, type StackOverrides } from './paths.ts';

/** Where instances live: `~/.local/state/mirrorlog/stacks/<name>` (MIRRORLOG_STACK_INSTANCES_DIR). */
export const INSTANCES_DIR_ENV = 'MIRRORLOG_STACK_INSTANCES_DIR';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PORTS_FILE = 'instance-ports.json';

export interface InstancePorts {
  kafkaPort: number;
  kafkaControllerPort: number;
  s3Port: number;
}

/** An error message for a name that cannot be a directory name of its own, or undefined. */
export function instanceNameProblem(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `instance name '${name}': letters, digits, dot, underscore and dash, ` +
        'starting with a letter or digit (1-63 chars)';
}

export function instancesDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const fromEnv = env[INSTANCES_DIR_ENV];
  return fromEnv !== undefined && fromEnv !== ''
    ? resolve(fromEnv)
    : join(home, '.local', 'state', 'mirrorlog', 'stacks');
}

export function instanceDir(name: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const problem = instanceNameProblem(name);
  if (problem !== undefined) throw new RangeError(problem);
  return join(instancesDir(env, home), name);
}

/**
 * Candidate ports, drawn at random from bands below Linux's ephemeral range (32768+), so
 * no outgoing connection holds them: Kafka in 23000-27999, S3 in 20000-22499 (SeaweedFS
 * puts its gRPC ports at +10000, i.e. 30000-32503).
 */
export function candidatePorts(random: (min: number, max: number) => number = randomInt): InstancePorts {
  const kafkaPort = random(23_000, 27_999);
  return { kafkaPort, kafkaControllerPort: kafkaPort + 1, s3Port: random(20_000, 22_494) };
}

async function readPorts(dir: string): Promise<InstancePorts | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, PORTS_FILE), 'utf8')) as Partial<InstancePorts>;
    const { kafkaPort, kafkaControllerPort, s3Port } = parsed;
    if ([kafkaPort, kafkaControllerPort, s3Port].every((p) => Number.isInteger(p))) return parsed as InstancePorts;
    return undefined;
  } catch {
    return undefined;
  }
}

/** Ports already recorded for an instance, or undefined when it was never brought up. */
export async function recordedInstancePorts(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<InstancePorts | undefined> {
  return readPorts(instanceDir(name, env));
}

/**
 * The overrides that make the stack API act on instance `name`: its directory and its
 * ports, drawn free (and recorded) the first time. Pass them to ensureStackUp,
 * stopServer, stackDown... exactly as the default stack's callers pass nothing.
 */
export async function instanceOverrides(name: string, env: NodeJS.ProcessEnv = process.env): Promise<StackOverrides> {
  const dir = instanceDir(name, env);
  let ports = await readPorts(dir);
  if (ports === undefined) {
    ports = await freeInstancePorts();
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${PORTS_FILE}.${process.pid}.tmp`);
    await writeFile(temp, `${JSON.stringify(ports, null, 2)}\n`);
    await rename(temp, join(dir, PORTS_FILE));
  }
  return { stackDir: dir, ...ports };
}

async function freeInstancePorts(): Promise<InstancePorts> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const ports = candidatePorts();
    if (portClash(ports) !== undefined) continue;
    if ((await busyPorts(Object.values(stackPorts(ports)))).length === 0) return ports;
  }
  throw new Error('found no free block of ports for a stack instance in 50 tries');
}

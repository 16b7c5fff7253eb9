// Waits until a replica holds exactly the source tree (independent snapshots of both), or
// until the log describes it, failing after a bound with the differences that remained.
import { waitFor } from './stack.ts';
import type { TopicFollower } from './topic.ts';
import { diffTrees, snapshotTree, type TreeSnapshot } from './tree.ts';

/** `explain`: what the services say of their progress, added to the message when the wait fails. */
export async function waitForReplica(
  source: string | TreeSnapshot,
  replica: string,
  what: string,
  timeoutMs = 60_000,
  explain?: () => Promise<string>,
): Promise<void> {
  await waitForNoDifferences(
    `${what}: the replica to equal the source`,
    async () => {
      const expected = typeof source === 'string' ? await snapshotTree(source) : source;
      return diffTrees(expected, await snapshotTree(replica));
    },
    'still different',
    timeoutMs,
    200,
    explain,
  );
}

/** Waits until the latest state of the followed log is the source tree (what a producer published). */
export async function waitForLog(
  follower: TopicFollower,
  root: string,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitForNoDifferences(
    `${what}: the log to describe the source tree`,
    async () => diffTrees(await snapshotTree(root), follower.state()),
    'differences',
    timeoutMs,
    100,
  );
}

async function waitForNoDifferences(
  what: string,
  differences: () => Promise<string[]>,
  remaining: string,
  timeoutMs: number,
  everyMs: number,
  explain?: () => Promise<string>,
): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      what,
      async () => {
        last = await differences();
        return last.length === 0 ? true : undefined;
      },
      timeoutMs,
      everyMs,
    );
  } catch (error) {
    const said =
      explain === undefined ? '' : `\n${await explain().catch((e: Error) => `(no explanation: ${e.message})`)}`;
    throw new Error(`${(error as Error).message}; ${remaining}:\n${last.join('\n')}${said}`);
  }
}

// Waits until a replica holds exactly the source tree (independent snapshots of both),
// failing after a bound with the differences that remained.
import { waitFor } from './stack.ts';
import { diffTrees, snapshotTree, type TreeSnapshot } from './tree.ts';

export async function waitForReplica(
  source: string | TreeSnapshot,
  replica: string,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      `${what}: the replica to equal the source`,
      async () => {
        const expected = typeof source === 'string' ? await snapshotTree(source) : source;
        last = diffTrees(expected, await snapshotTree(replica));
        return last.length === 0 ? true : undefined;
      },
      timeoutMs,
      200,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; still different:\n${last.join('\n')}`);
  }
}

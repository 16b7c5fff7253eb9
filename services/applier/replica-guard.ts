// Start-up check that this applier is its replica's only one (domain/replica-membership.ts).
// A member left by a previous run that crashed stays in the group until its session
// times out, so a held group is watched for that long before it counts as another
// applier: a restart right after a crash must not be refused.
import type { Admin } from 'kafkajs';
import { CliError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { sleep } from '../shared/retry.ts';
import { judgeGroup, secondApplierMessage, type GroupDescription } from './domain/replica-membership.ts';

async function describe(admin: Admin, group: string): Promise<GroupDescription | undefined> {
  const { groups } = await admin.describeGroups([group]);
  return groups.find((g) => g.groupId === group);
}

export async function ensureSoleApplier(
  admin: Admin,
  options: {
    group: string;
    replica: string;
    sessionTimeoutMs: number;
    logger: Logger;
    pollMs?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const deadline = Date.now() + options.sessionTimeoutMs + 3000;
  let verdict = judgeGroup(await describe(admin, options.group));
  if (verdict.kind === 'free') return;
  options.logger.warn(
    { group: options.group, members: verdict.members, waitMs: deadline - Date.now() },
    'the replica group has a member; waiting in case it is a previous run that ended without leaving',
  );
  while (Date.now() < deadline) {
    await sleep(options.pollMs ?? 1000, options.signal);
    verdict = judgeGroup(await describe(admin, options.group));
    if (verdict.kind === 'free') return;
  }
  throw new CliError(secondApplierMessage(options.replica, options.group, verdict.members));
}

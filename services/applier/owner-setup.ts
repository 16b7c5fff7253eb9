// The applier's owner policy from its options, checked at start: what --owner resolves
// to on this machine (preserve needs the right to chown), the --usermap/--groupmap rules
// with their names looked up here, and one warning when owners are not kept.
import { readFileSync } from 'node:fs';
import type { ApplierConfig } from '../../schemas/config.ts';
import type { Owner } from '../../schemas/event.ts';
import { Accounts } from '../shared/accounts.ts';
import { CliError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { ownershipFor, parseIdRules, type OwnerPolicy, type Ownership } from './domain/owner-policy.ts';

/**
 * What keeping owners takes: chown itself, and then, for entries that are no longer the
 * applier's, writing into their directories, setting their modes and times, and keeping
 * setgid bits of groups it is not in.
 */
const OWNER_CAPABILITIES = { CAP_CHOWN: 0n, CAP_DAC_OVERRIDE: 1n, CAP_FOWNER: 3n, CAP_FSETID: 4n };

/** Whether this process may keep others' owners: root, or the capabilities above in its effective set. */
export function mayChown(status = '/proc/self/status'): boolean {
  try {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'));
    if (line !== null) {
      const effective = BigInt(`0x${line[1]}`);
      return Object.values(OWNER_CAPABILITIES).every((bit) => ((effective >> bit) & 1n) === 1n);
    }
  } catch {
    // no /proc: fall back to the uid
  }
  return process.getuid?.() === 0;
}

type OwnerOptions = Pick<ApplierConfig, 'owner' | 'usermap' | 'groupmap' | 'numericIds'>;

export function ownerPolicy(config: OwnerOptions, canChown: boolean, accounts: Accounts): OwnerPolicy {
  const mapped = config.usermap !== '' || config.groupmap !== '';
  const mode = config.owner ?? (canChown ? 'preserve' : 'none');
  if (mode !== 'none' && !canChown)
    throw new CliError(
      `--owner ${mode} needs root (or ${Object.keys(OWNER_CAPABILITIES).join(', ')}); ` +
        'run the applier so, or use --owner none',
    );
  if (mode === 'none' && mapped) throw new CliError('--usermap/--groupmap need --owner preserve or map, not none');
  if (mode === 'map' && !mapped) throw new CliError('--owner map needs --usermap or --groupmap');
  try {
    return {
      mode,
      numericIds: config.numericIds,
      users: parseIdRules(config.usermap, 'usermap', (name) => accounts.uidOf(name)),
      groups: parseIdRules(config.groupmap, 'groupmap', (name) => accounts.gidOf(name)),
    };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/**
 * What `verify` expects of owners: the replica's applier's policy (same options; unset,
 * the default the applier chooses when run as this user), without needing the right to chown.
 */
export function expectedOwnership(
  config: OwnerOptions,
  accounts = new Accounts(),
): ((owner: Owner | undefined) => Ownership | undefined) | undefined {
  const policy = ownerPolicy(config, config.owner !== undefined || mayChown(), accounts);
  return policy.mode === 'none' ? undefined : (owner) => ownershipFor(owner, policy, accounts);
}

/** The materializer's ownership function, or undefined when nothing is chowned. */
export function ownershipFromConfig(
  config: OwnerOptions,
  logger: Logger,
  canChown = mayChown(),
  accounts = new Accounts(),
): ((owner: Owner | undefined) => Ownership | undefined) | undefined {
  const policy = ownerPolicy(config, canChown, accounts);
  if (policy.mode === 'none') {
    if (config.owner === undefined)
      logger.warn(
        'owners are not replicated: this process may not keep them (not root, nor CAP_CHOWN, ' +
          'CAP_DAC_OVERRIDE, CAP_FOWNER and CAP_FSETID); ' +
          'every entry belongs to its user (--owner none to silence this)',
      );
    return undefined;
  }
  logger.info({ owner: policy.mode, numericIds: policy.numericIds }, 'owners are replicated');
  return (owner) => ownershipFor(owner, policy, accounts);
}

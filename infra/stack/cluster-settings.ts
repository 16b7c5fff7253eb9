// What `up --cluster` was given, kept in the cluster directory so that status, down and
// node restarts act on the same cluster (node count, ports, heap, security, cluster id)
// whatever options they are called with later.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newClusterId } from './kafka-server.ts';
import { resolveClusterOptions, type ClusterOptions, type ClusterOverrides } from './cluster-config.ts';

export const SETTINGS_FILE = 'cluster.json';

export type ClusterSettings = Pick<ClusterOptions, 'nodes' | 'basePort' | 'heap' | 'security'> & {
  clusterId: string;
};

export async function readClusterSettings(dir: string): Promise<ClusterSettings | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, SETTINGS_FILE), 'utf8')) as ClusterSettings;
  } catch {
    return undefined;
  }
}

/** The options with what `up` recorded in place of the defaults. */
export function withSettings(o: ClusterOptions, settings: ClusterSettings): ClusterOptions {
  return {
    ...o,
    nodes: settings.nodes,
    basePort: settings.basePort,
    heap: settings.heap,
    ...(settings.security ? { security: settings.security } : {}),
  };
}

/** Options for an existing cluster directory: what its `up` recorded wins over defaults. */
export async function existingOptions(overrides: ClusterOverrides): Promise<ClusterOptions & { clusterId?: string }> {
  const base = resolveClusterOptions(overrides);
  const settings = await readClusterSettings(base.dir);
  if (settings === undefined) return base;
  return { ...withSettings(base, settings), clusterId: settings.clusterId };
}

/** The settings recorded in `requested.dir`; on the first `up`, these options with a new cluster id, recorded. */
export async function recordClusterSettings(requested: ClusterOptions): Promise<ClusterSettings> {
  const known = await readClusterSettings(requested.dir);
  if (known !== undefined) return known;
  const settings: ClusterSettings = {
    nodes: requested.nodes,
    basePort: requested.basePort,
    heap: requested.heap,
    ...(requested.security === undefined ? {} : { security: requested.security }),
    clusterId: newClusterId(),
  };
  await writeFile(join(requested.dir, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`);
  return settings;
}

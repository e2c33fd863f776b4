import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Cluster, loadClusterfile, splitAddress } from '../clusterfile/index.js';
import { EnvironmentError } from '../util/errors.js';
import { exists } from '../util/local-files.js';
import { berthHome } from '../util/paths.js';

// A host belongs to one cluster at a time: another cluster's hooks, registry and reset on the same host
// would undo or break the first one's. Before anything changes, every host of the cluster being applied
// is looked up in the other clusters this berth home has applied.

function hostIps(cluster: Cluster): string[] {
  return cluster.spec.hosts.flatMap((h) => h.ips.map((a) => splitAddress(a).ip));
}

/** Throws, naming the host and both clusters, when a host of `cluster` is in another applied cluster. */
export async function checkHostsUnclaimed(cluster: Cluster): Promise<void> {
  const name = cluster.metadata.name;
  const wanted = new Set(hostIps(cluster));
  const entries = await readdir(berthHome(), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    // berth's own dirs (images, sandboxes...) hold no Clusterfile and are passed over with the rest
    if (!e.isDirectory() || e.name === name) continue;
    const file = join(berthHome(), e.name, 'Clusterfile');
    if (!(await exists(file))) continue;
    const other = await loadClusterfile(file, { checkVariables: false }).catch(() => undefined);
    const shared = other ? hostIps(other.cluster).find((ip) => wanted.has(ip)) : undefined;
    if (shared)
      throw new EnvironmentError(
        `host ${shared} is already in cluster "${e.name}", so it cannot join cluster "${name}": ` +
          `remove it there first (berth delete --nodes/--masters ${shared} --cluster ${e.name}, or berth reset --cluster ${e.name})`,
      );
  }
}

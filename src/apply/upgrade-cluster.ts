import type { Cluster } from '../clusterfile/index.js';
import { NotFoundError } from '../util/errors.js';
import { applyLoaded, type ClusterOptions } from './apply-cluster.js';
import { loadApplied } from './state.js';

// `berth upgrade IMAGE --cluster C`: the applied Clusterfile with its rootfs image replaced, applied again.
// Whether that is an upgrade, and whether it is allowed, the apply decides (version-change.ts), so
// `berth apply` of a Clusterfile naming the newer image does exactly the same.

/** `cluster` with `image` in the place of its rootfs image (the one recorded as rootfs, else the first). */
export function clusterWithRootfs(cluster: Cluster, image: string): Cluster {
  const rootfs = new Set(
    (cluster.status?.mounts ?? []).filter((m) => m.type === 'rootfs').map((m) => m.imageName),
  );
  const at = cluster.spec.image.findIndex((ref) => rootfs.has(ref));
  const images = [...cluster.spec.image];
  images[Math.max(at, 0)] = image;
  return { ...cluster, spec: { ...cluster.spec, image: images } };
}

export async function upgradeCluster(name: string, image: string, options: ClusterOptions): Promise<void> {
  const loaded = await loadApplied(name);
  if (!loaded)
    throw new NotFoundError(
      `cluster ${name} does not exist; berth run installs it (berth upgrade changes an applied one)`,
    );
  await applyLoaded({ ...loaded, cluster: clusterWithRootfs(loaded.cluster, image) }, options);
}

import type { LoadedClusterfile } from '../clusterfile/index.js';
import { kubeVersion } from '../image/contract.js';
import { type KubeVersion, parseKubeVersion } from '../runtime/kube-version.js';
import type { Runtime } from '../runtime/types.js';
import { InputError } from '../util/errors.js';

// Whether an apply changes the cluster's Kubernetes version, decided here before any host is touched. The
// version the hosts run is `status.kubernetesVersion` of the applied Clusterfile, written by the apply that
// succeeded; an apply under way or failed keeps the old value there, so an upgrade cut short is still an
// upgrade from that version on the next run. One minor at a time (patches within it free), never down.

/** The Kubernetes version the last successful apply brought the hosts to, if one is known. */
export function appliedKubeVersion(previous: LoadedClusterfile | undefined): string | undefined {
  const status = previous?.cluster.status;
  if (!status) return undefined;
  if (typeof status.kubernetesVersion === 'string') return status.kubernetesVersion;
  // a Clusterfile recorded before the field existed: its rootfs image's version label
  for (const m of status.mounts ?? []) {
    const v = m.type === 'rootfs' ? kubeVersion(m.labels) : undefined;
    if (v) return v;
  }
  return undefined;
}

export interface VersionChange {
  from: KubeVersion;
  to: KubeVersion;
}

const sameRelease = (a: KubeVersion, b: KubeVersion) =>
  a.major === b.major && a.minor === b.minor && a.patch === b.patch;

/**
 * The upgrade `to` asks for on a cluster running `applied`, or undefined when the version stays. A
 * downgrade, a skipped minor, or a driver that cannot upgrade is refused with one line (exit 3).
 */
export function versionChange(
  runtime: Pick<Runtime, 'name' | 'upgrade'>,
  applied: string | undefined,
  to: KubeVersion | undefined,
  image: string,
): VersionChange | undefined {
  if (!applied || !to) return undefined;
  const from = parseKubeVersion(applied, 'status.kubernetesVersion of the applied Clusterfile');
  if (sameRelease(from, to)) return undefined;
  const runs = `the cluster runs Kubernetes ${from.text}`;
  if (from.major !== to.major || to.minor < from.minor || (to.minor === from.minor && to.patch < from.patch))
    throw new InputError(
      `${image}: ${runs} and the image carries ${to.text}: a downgrade is not supported; apply an image of ${from.text} or newer`,
    );
  if (to.minor > from.minor + 1)
    throw new InputError(
      `${image}: ${runs} and the image carries ${to.text}: Kubernetes upgrades one minor version at a time; apply an image of v${from.major}.${from.minor + 1} first`,
    );
  if (!runtime.upgrade)
    throw new InputError(
      `${image}: ${runs} and the image carries ${to.text}: the ${runtime.name} driver cannot upgrade a cluster; apply an image of ${from.text}`,
    );
  return { from, to };
}

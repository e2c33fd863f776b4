import { setHostsEntry } from '../../host/etc-hosts.js';
import { labelValue } from '../../image/contract.js';
import { containerdMirrorFiles, mirrorSecrets } from '../../registry/mirrors.js';
import { registryServerAction } from '../../registry/server.js';
import type { ChangePhase } from '../phase.js';
import type { PlannedCluster } from '../planned-cluster.js';

// The cluster registry serves every image the cluster needs from the rootfs' registry/ directory on the
// registry hosts; every host resolves the registry name to it and its container runtime pulls
// registry.k8s.io/..., docker.io/..., quay.io/..., ghcr.io/... through it, so no manifest needs changing.

/** Images that bring their own init-registry hook start their registry themselves (sealos contract). */
function imageStartsRegistry(c: PlannedCluster): boolean {
  return c.images.images.some((i) => i.type !== 'application' && labelValue(i.labels, 'init-registry'));
}

export const startRegistry: ChangePhase = {
  title: 'start the cluster registry',
  plan(c) {
    if (imageStartsRegistry(c)) return { order: 'parallel', steps: [] };
    const registry = c.runtimeCtx.registry;
    const action = registryServerAction({
      rootfsDir: c.remoteRootfs,
      dataDir: `${c.remoteRootfs}/registry`,
      configDir: `${c.remoteDir}/registry-config`,
      port: registry.port,
      username: registry.username,
      password: registry.password,
    });
    return {
      order: 'parallel',
      steps: c.registryHosts.map((h) => ({
        host: h.ip,
        id: 'registry',
        ...action,
        // the htpasswd line is salted afresh each time; the step's identity is its settings, not its bytes
        inputs: { registry, key: c.images.key },
      })),
    };
  },
};

export const configureMirrors: ChangePhase = {
  title: 'point every host at the cluster registry',
  plan(c) {
    const r = c.runtimeCtx.registry;
    return {
      order: 'parallel',
      steps: c.hosts.map((h) => ({
        host: h.ip,
        id: 'mirrors',
        description: `resolve ${r.domain} to ${r.hostIp} and mirror public registries through it`,
        files: containerdMirrorFiles(r),
        commands: [setHostsEntry(r.hostIp, r.domain)],
        secrets: mirrorSecrets(r),
      })),
    };
  },
};

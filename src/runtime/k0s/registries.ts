import type { FileSpec } from '../../host/action.js';
import { containerdMirrorFiles, type RegistryEndpoint, registryAddress } from '../../registry/mirrors.js';
import { containerdDropInDir, registryHostsDir } from './host-paths.js';

// The cluster registry as k0s's containerd sees it: a drop-in under /etc/k0s/containerd.d with the CRI
// plugin's table, which k0s merges over its own CRI config (reference distributions/k0s.md §5), pointing
// the registry hosts directory at berth's mirror files, so that pulls of registry.k8s.io/, docker.io/,
// quay.io/ and ghcr.io/ images are served by the cluster registry with no manifest changed.

export const registryDropIn = `${containerdDropInDir}/berth-registry.toml`;

function dropIn(r: RegistryEndpoint): string {
  return [
    `# the cluster registry ${registryAddress(r)} serves the public registries (written by berth)`,
    '[plugins."io.containerd.grpc.v1.cri".registry]',
    `  config_path = ${JSON.stringify(registryHostsDir)}`,
    '',
  ].join('\n');
}

/** The drop-in and the hosts.toml of every mirrored registry (mode 0600: they carry the credentials). */
export function k0sRegistryFiles(r: RegistryEndpoint): FileSpec[] {
  return [
    { path: registryDropIn, content: dropIn(r), mode: 0o644 },
    ...containerdMirrorFiles(r, registryHostsDir),
  ];
}

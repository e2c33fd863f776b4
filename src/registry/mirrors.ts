// Runtime mirror configuration: every public registry a cluster image's manifests name is served from the
// cluster registry, so `registry.k8s.io/pause:3.9` pulls `pause:3.9` from it with no manifest changed.
// The registry holds images without their source host; docker.io images keep docker's implicit
// `library/` prefix (`docker.io/nginx` is stored as `library/nginx`), which is exactly the path a
// mirror request for docker.io carries.

import type { FileSpec } from '../host/action.js';

/** How every host reaches the cluster registry. */
export interface RegistryEndpoint {
  /** Name every host resolves to the registry host, e.g. sealos.hub. */
  domain: string;
  port: number;
  hostIp: string;
  username: string;
  password: string;
}

/** Registries redirected to the cluster registry, with their upstream servers. */
export const mirroredRegistries: Record<string, string> = {
  'registry.k8s.io': 'https://registry.k8s.io',
  'docker.io': 'https://registry-1.docker.io',
  'quay.io': 'https://quay.io',
  'ghcr.io': 'https://ghcr.io',
  'k8s.gcr.io': 'https://k8s.gcr.io',
};

export function registryAddress(r: Pick<RegistryEndpoint, 'domain' | 'port'>): string {
  return `${r.domain}:${r.port}`;
}

export function basicAuthValue(r: Pick<RegistryEndpoint, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${r.username}:${r.password}`).toString('base64')}`;
}

/** The strings in the mirror files that must never be logged. */
export function mirrorSecrets(r: RegistryEndpoint): string[] {
  return [r.password, basicAuthValue(r), Buffer.from(`${r.username}:${r.password}`).toString('base64')];
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * containerd hosts.toml for one registry: the cluster registry first (pull and resolve, with a static
 * Basic Authorization header, which containerd's hosts-dir loader sends on every request), upstream last.
 */
export function containerdHostsToml(upstream: string, r: RegistryEndpoint): string {
  const mirror = tomlString(`http://${registryAddress(r)}`);
  return [
    `server = ${tomlString(upstream)}`,
    '',
    `[host.${mirror}]`,
    '  capabilities = ["pull", "resolve"]',
    '',
    `[host.${mirror}.header]`,
    `  Authorization = ${tomlString(basicAuthValue(r))}`,
    '',
  ].join('\n');
}

/** The files under /etc/containerd/certs.d (or `certsDir`), mode 0600 since they carry credentials. */
export function containerdMirrorFiles(r: RegistryEndpoint, certsDir = '/etc/containerd/certs.d'): FileSpec[] {
  const own = registryAddress(r);
  const entries: [string, string][] = [...Object.entries(mirroredRegistries), [own, `http://${own}`]];
  return entries.map(([host, upstream]) => ({
    path: `${certsDir}/${host}/hosts.toml`,
    content: containerdHostsToml(upstream, r),
    mode: 0o600,
  }));
}

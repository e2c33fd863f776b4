import { stringify } from 'yaml';
import { mirroredRegistries, type RegistryEndpoint, registryAddress } from '../../registry/mirrors.js';

// k3s reads its registry mirrors from its own file rather than containerd's hosts dir: the same mirrors
// as every other runtime gets (registry/mirrors.ts), in k3s' format.

/** k3s /etc/rancher/k3s/registries.yaml: the same mirrors, with the credentials for the cluster registry. */
export function k3sRegistriesYaml(r: RegistryEndpoint): string {
  const own = registryAddress(r);
  const mirrors: Record<string, { endpoint: string[] }> = {};
  for (const host of [...Object.keys(mirroredRegistries), own])
    mirrors[host] = { endpoint: [`http://${own}`] };
  return stringify(
    {
      mirrors,
      configs: { [own]: { auth: { username: r.username, password: r.password } } },
    },
    { aliasDuplicateObjects: false },
  );
}

import { secretEnvKeys } from '../image/contract.js';

// The Cluster fields that hold credentials: the ssh blocks' passwords, passphrases and keys, and the env
// entries whose key names a secret (registryPassword=...). They are encrypted whenever berth writes a
// Clusterfile and decrypted when it reads one, unless they are `${VAR}` references (then the secret
// lives elsewhere).

import { isMapping } from '../util/mapping.js';

export const secretKeys = ['passwd', 'pkPasswd', 'pkData'] as const;

/** Fields that may hold a `${VAR}` reference resolved from the environment. */
export const referenceKeys = ['passwd', 'pkPasswd'] as const;

type Path = Array<string | number>;

/** Paths of every `ssh` block of a Cluster-shaped object: spec.ssh and each spec.hosts[i].ssh. */
export function sshBlockPaths(cluster: unknown): Path[] {
  const spec = isMapping(cluster) ? cluster.spec : undefined;
  if (!isMapping(spec)) return [];
  const out: Path[] = [];
  if (isMapping(spec.ssh)) out.push(['spec', 'ssh']);
  if (Array.isArray(spec.hosts)) {
    spec.hosts.forEach((h, i) => {
      if (isMapping(h) && isMapping(h.ssh)) out.push(['spec', 'hosts', i, 'ssh']);
    });
  }
  return out;
}

/** Paths of the string values among `keys` in every ssh block. */
export function sshFieldPaths(cluster: unknown, keys: readonly string[]): Path[] {
  const out: Path[] = [];
  for (const block of sshBlockPaths(cluster)) {
    const ssh = getPath(cluster, block) as Record<string, unknown>;
    for (const key of keys) if (typeof ssh[key] === 'string') out.push([...block, key]);
  }
  return out;
}

/** Paths of every env list entry: spec.env[k] and spec.hosts[i].env[k]. */
export function envEntryPaths(cluster: unknown): Path[] {
  const spec = isMapping(cluster) ? cluster.spec : undefined;
  if (!isMapping(spec)) return [];
  const out: Path[] = [];
  const addList = (list: unknown, base: Path) => {
    if (Array.isArray(list)) for (let k = 0; k < list.length; k++) out.push([...base, k]);
  };
  addList(spec.env, ['spec', 'env']);
  if (Array.isArray(spec.hosts)) {
    spec.hosts.forEach((h, i) => {
      if (isMapping(h)) addList(h.env, ['spec', 'hosts', i, 'env']);
    });
  }
  return out;
}

/** An env entry `KEY=VALUE` split at its first `=`. */
export function splitEnvEntry(entry: string): { key: string; value: string } {
  const eq = entry.indexOf('=');
  return eq < 0 ? { key: entry, value: '' } : { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
}

/** Paths of the env entries (spec.env and each host's) whose key names a secret. */
export function secretEnvPaths(cluster: unknown): Path[] {
  return envEntryPaths(cluster).filter((path) => {
    const entry = getPath(cluster, path);
    return typeof entry === 'string' && secretEnvKeys.includes(splitEnvEntry(entry).key);
  });
}

export function getPath(obj: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);
}

export function setPath(obj: unknown, path: Path, value: unknown): void {
  const parent = getPath(obj, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
}

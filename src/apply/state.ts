import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import { registerSecret } from '../util/log.js';
import { berthHome } from '../util/paths.js';
import { decryptSecret, encryptSecret } from '../util/secrets.js';

// A cluster's local state lives in ~/.berth/<cluster>/: the applied Clusterfile with its status, the
// journal of completed steps, the cluster's generated secrets (encrypted), and the fetched kubeconfig.
// Names of berth's other folders in its data dir cannot be cluster names.

const reserved = new Set(['images', 'sandboxes', 'mounts', 'tmp', 'known_hosts', 'secret.key', 'clusters']);
const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateClusterName(name: string): void {
  if (!namePattern.test(name)) {
    throw new InputError(
      `cluster name "${name}" must be lowercase letters, digits and '-', at most 63 characters`,
    );
  }
  if (reserved.has(name)) throw new InputError(`cluster name "${name}" is reserved by berth; choose another`);
}

export interface ClusterPaths {
  dir: string;
  clusterfile: string;
  journal: string;
  secrets: string;
  kubeconfig: string;
}

export function clusterPaths(name: string): ClusterPaths {
  validateClusterName(name);
  const dir = join(berthHome(), name);
  return {
    dir,
    clusterfile: join(dir, 'Clusterfile'),
    journal: join(dir, 'journal.jsonl'),
    secrets: join(dir, 'secrets.json'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

/** Holds the cluster's state lock for the duration of `fn`: two berth runs never apply one cluster at once. */
export async function withClusterLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const { dir } = clusterPaths(name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, { lockfilePath: join(dir, '.lock'), stale: 30_000, update: 10_000 });
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOCKED') {
      throw new EnvironmentError(
        `cluster "${name}" is being changed by another berth process; wait for it to finish`,
      );
    }
    throw err;
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}

export interface ClusterSecrets {
  /** k3s server token / kubeadm bootstrap secret. */
  token: string;
  /** Token agents join with, kept apart from the server token. */
  agentToken: string;
  /** Password of the in-cluster registry when the image does not set one. */
  registryPassword: string;
}

/** The cluster's secrets, generated on first use and stored encrypted; registered for redaction. */
export async function loadOrCreateSecrets(name: string): Promise<ClusterSecrets> {
  const { secrets: path } = clusterPaths(name);
  let stored: Partial<Record<keyof ClusterSecrets, string>> = {};
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as typeof stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new InputError(`${path}: cannot read the cluster's secrets (${(err as Error).message})`);
    }
  }
  const fresh = (): string => randomBytes(24).toString('hex');
  const secrets: ClusterSecrets = {
    token: stored.token ? decryptSecret(stored.token) : fresh(),
    agentToken: stored.agentToken ? decryptSecret(stored.agentToken) : fresh(),
    registryPassword: stored.registryPassword ? decryptSecret(stored.registryPassword) : fresh(),
  };
  for (const v of Object.values(secrets)) registerSecret(v);
  if (!stored.token || !stored.agentToken || !stored.registryPassword) {
    const encrypted = Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, encryptSecret(v)]));
    await writeFileAtomic(path, `${JSON.stringify(encrypted, null, 2)}\n`, 0o600);
  }
  return secrets;
}

/** Forgets a cluster entirely (after `berth reset`). */
export async function removeClusterState(name: string): Promise<void> {
  await rm(clusterPaths(name).dir, { recursive: true, force: true });
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
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

/**
 * Beside the lock dir, who holds it, so that a lock left by a killed berth is recognised as such. Not inside:
 * a file written there changes the dir's mtime, which proper-lockfile then takes for a compromised lock.
 */
function lockOwnerFile(lockPath: string): string {
  return `${lockPath}.owner`;
}

/** True when the lock's recorded holder was a process of this machine that no longer runs. */
async function lockHolderGone(lockPath: string): Promise<boolean> {
  const [host, pid] = (await readFile(lockOwnerFile(lockPath), 'utf8').catch(() => '')).trim().split(' ');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Holds the cluster's state lock for the duration of `fn`: two berth runs never apply one cluster at once. */
export async function withClusterLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const { dir } = clusterPaths(name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, '.lock');
  const take = () => lockfile.lock(dir, { lockfilePath: lockPath, stale: 30_000, update: 10_000 });
  let release: () => Promise<void>;
  try {
    try {
      release = await take();
    } catch (err) {
      // a killed berth (SIGKILL, crash) leaves its lock until it goes stale; resuming must not wait for that
      if ((err as { code?: string }).code !== 'ELOCKED' || !(await lockHolderGone(lockPath))) throw err;
      await rm(lockPath, { recursive: true, force: true });
      release = await take();
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOCKED') {
      throw new EnvironmentError(
        `cluster "${name}" is being changed by another berth process; wait for it to finish`,
      );
    }
    throw err;
  }
  await writeFile(lockOwnerFile(lockPath), `${hostname()} ${process.pid}\n`);
  try {
    return await fn();
  } finally {
    await rm(lockOwnerFile(lockPath), { force: true });
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

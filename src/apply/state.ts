import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { type LoadedClusterfile, loadClusterfile } from '../clusterfile/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import { exists } from '../util/local-files.js';
import { registerSecret } from '../util/log.js';
import { berthHome } from '../util/paths.js';
import { decryptSecret, encryptSecret } from '../util/secrets.js';

// A cluster's local state lives in ~/.berth/<cluster>/: the applied Clusterfile with its status, the
// journal of completed steps, berth's generated secrets and the distribution driver's state (both
// encrypted), and the fetched kubeconfig. A dry run writes none of it.
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
  driverState: string;
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
    driverState: join(dir, 'driver-state'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

const LOCK_NAME = '.lock';

/**
 * Beside the lock dir, who holds it, so that a lock left by a killed berth is recognised as such. Not inside:
 * a file written there changes the dir's mtime, which proper-lockfile then takes for a compromised lock.
 */
function lockOwnerFile(lockPath: string): string {
  return `${lockPath}.owner`;
}

/** Who the owner file says holds the lock: `host pid since`, any of them missing when unknown. */
async function lockOwner(lockPath: string): Promise<{ host?: string; pid?: string; since?: string }> {
  const [host, pid, since] = (await readFile(lockOwnerFile(lockPath), 'utf8').catch(() => ''))
    .trim()
    .split(' ');
  return { host: host || undefined, pid, since };
}

/** True when the lock's recorded holder was a process of this machine that no longer runs. */
async function lockHolderGone(lockPath: string): Promise<boolean> {
  const { host, pid } = await lockOwner(lockPath);
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The applied Clusterfile of a cluster, or undefined when berth never applied it. */
export async function loadApplied(name: string): Promise<LoadedClusterfile | undefined> {
  const path = clusterPaths(name).clusterfile;
  if (!(await exists(path))) return undefined;
  return loadClusterfile(path);
}

/**
 * Holds the cluster's state lock for the duration of `fn`: two berth runs never apply one cluster at once.
 * A dry run of a cluster that has no state dir takes no lock: there is nothing to protect, and taking it
 * would leave a dir behind.
 */
export async function withClusterLock<T>(
  name: string,
  fn: () => Promise<T>,
  opts: { dryRun?: boolean } = {},
): Promise<T> {
  const { dir } = clusterPaths(name);
  if (opts.dryRun && !(await exists(dir))) return fn();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, LOCK_NAME);
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
      const owner = await lockOwner(lockPath);
      const who = owner.pid
        ? `berth process ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`}${owner.since ? ` since ${owner.since}` : ''}`
        : 'another berth process';
      throw new EnvironmentError(`cluster "${name}" is being changed by ${who}; wait for it to finish`);
    }
    throw err;
  }
  await writeFile(lockOwnerFile(lockPath), `${hostname()} ${process.pid} ${new Date().toISOString()}\n`, {
    mode: 0o600,
  });
  try {
    return await fn();
  } finally {
    await rm(lockOwnerFile(lockPath), { force: true });
    await release();
    // the dir goes when removeClusterState emptied it; one still holding state stays (rmdir refuses it)
    await rmdir(dir).catch(() => undefined);
  }
}

export interface ClusterSecrets {
  /** Password of the in-cluster registry (over any an image sets; the Clusterfile's env may set another). */
  registryPassword: string;
}

/**
 * berth's own secrets of the cluster, generated on first use and stored encrypted (not in a dry run);
 * registered for redaction. The distribution's secrets are the driver's state (below).
 */
export async function loadOrCreateSecrets(
  name: string,
  opts: { save?: boolean } = {},
): Promise<ClusterSecrets> {
  const { secrets: path } = clusterPaths(name);
  let stored: Partial<Record<keyof ClusterSecrets, string>> = {};
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as typeof stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new InputError(`${path}: cannot read the cluster's secrets (${(err as Error).message})`);
    }
  }
  const secrets: ClusterSecrets = {
    registryPassword: stored.registryPassword
      ? decryptSecret(stored.registryPassword)
      : randomBytes(24).toString('hex'),
  };
  registerSecret(secrets.registryPassword);
  if (!stored.registryPassword && opts.save !== false) {
    const encrypted = { ...stored, registryPassword: encryptSecret(secrets.registryPassword) };
    await writeFileAtomic(path, `${JSON.stringify(encrypted, null, 2)}\n`, 0o600);
  }
  return secrets;
}

/** Every string inside a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** What the driver's prepare returned on the last apply (decrypted, masked in logs), if anything. */
export async function loadDriverState(name: string): Promise<unknown> {
  const { driverState: path } = clusterPaths(name);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new InputError(`${path}: cannot read the distribution's state (${err.message})`);
  });
  if (text === undefined) return legacyDriverState(name);
  const state = JSON.parse(decryptSecret(text.trim())) as unknown;
  for (const s of strings(state)) registerSecret(s);
  return state;
}

/**
 * Clusters applied before drivers had state of their own kept the distribution's tokens in secrets.json
 * as `token` and `agentToken`; they are the driver's previous state, so a re-apply keeps them.
 */
async function legacyDriverState(name: string): Promise<unknown> {
  const text = await readFile(clusterPaths(name).secrets, 'utf8').catch(() => undefined);
  const stored = text ? (JSON.parse(text) as Record<string, string | undefined>) : {};
  if (!stored.token) return undefined;
  const state = {
    token: decryptSecret(stored.token),
    ...(stored.agentToken ? { agentToken: decryptSecret(stored.agentToken) } : {}),
  };
  for (const s of strings(state)) registerSecret(s);
  return state;
}

/** Keeps the driver's state encrypted (mode 0600) in the state dir. */
export async function saveDriverState(name: string, state: unknown): Promise<void> {
  for (const s of strings(state)) registerSecret(s);
  await writeFileAtomic(clusterPaths(name).driverState, `${encryptSecret(JSON.stringify(state))}\n`, 0o600);
}

/** Forgets a cluster entirely (after `berth reset`, or a first apply that failed), under withClusterLock. */
export async function removeClusterState(name: string): Promise<void> {
  const { dir } = clusterPaths(name);
  // the lock stays until its holder lets go (withClusterLock removes the dir then): proper-lockfile
  // refreshes it every 10 s and, finding it gone, throws from a timer, which ended a slow reset in a crash
  const lock = [LOCK_NAME, lockOwnerFile(LOCK_NAME)];
  for (const entry of await readdir(dir).catch(() => [] as string[]))
    if (!lock.includes(entry)) await rm(join(dir, entry), { recursive: true, force: true });
}

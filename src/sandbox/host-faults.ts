// What happens to a real server now and then, done to one sandbox host on purpose so that tests can check
// how berth copes: its network link goes down (and comes back), or it reboots (every process killed at
// once, then booted again from the same disk).
import { join } from 'node:path';
import { NotFoundError } from '../util/errors.js';
import { decryptSecret } from '../util/secrets.js';
import { type BootPlan, startHost, waitForSsh } from './boot.js';
import { createHostCgroups, machineCgroupLayout, removeHostCgroups } from './cgroups.js';
import { linkExists } from './network.js';
import { checkSandboxEnvironment } from './preflight.js';
import { killHostProcesses } from './processes.js';
import { mustRun } from './run.js';
import { hostDir, readRecord, writeRecord } from './store.js';
import { parseCidr } from './subnet.js';
import type { HostRecord, SandboxRecord } from './types.js';

async function findHost(
  name: string,
  host: string,
): Promise<{ rec: SandboxRecord; h: HostRecord; i: number }> {
  await checkSandboxEnvironment();
  const rec = await readRecord(name);
  if (!rec) throw new NotFoundError(`sandbox ${name} does not exist (see berth sandbox ls)`);
  const i = rec.hosts.findIndex((h) => h.ip === host || h.name === host);
  const h = rec.hosts[i];
  if (!h) throw new NotFoundError(`sandbox ${name} has no host ${host} (see berth sandbox ls)`);
  return { rec, h, i };
}

/**
 * Takes a host's link down or up on the machine's side (its veth's bridge port), as a pulled cable or a
 * dead switch port would: the host keeps running and its address, but no packet reaches it or leaves it.
 */
export async function setHostLink(name: string, host: string, state: 'up' | 'down'): Promise<void> {
  const { h } = await findHost(name, host);
  if (!(await linkExists(h.veth)))
    throw new NotFoundError(`sandbox ${name}: host ${h.name} has no link ${h.veth}`);
  await mustRun(`setting link ${h.veth} ${state}`, 'ip', ['link', 'set', 'dev', h.veth, state]);
}

/**
 * Reboots a host the hard way: every process of it is killed at once (a power cut), then it boots again
 * from the same files, keeping its address, keys and everything it wrote; resolves when it answers SSH
 * again. Bounded by `timeoutMs`.
 */
export async function restartHost(name: string, host: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { rec, h, i } = await findHost(name, host);
  await killHostProcesses(h.netns);
  if (h.cgroups) {
    // the host's systemd left its own cgroups below the host's; a fresh boot starts from empty ones
    await removeHostCgroups(h.cgroups);
    await createHostCgroups(await machineCgroupLayout(), h.netns);
  }
  const plan: BootPlan = {
    dir: hostDir(name, i),
    hostname: h.name,
    netns: h.netns,
    ip: h.ip,
    prefix: parseCidr(rec.subnet)?.prefix ?? 24,
    gateway: rec.gateway,
    user: h.user,
  };
  const passwords = `root:${decryptSecret(h.rootPassword)}\n${h.user}:${decryptSecret(h.userPassword)}\n`;
  const pid = await startHost(plan, join(plan.dir, 'boot.sh'), passwords);
  h.pid = pid;
  await writeRecord(rec);
  // a host rebooted in the middle of an install may well come up with failed units: SSH is what counts
  await waitForSsh(plan, pid, h.port, deadline);
}

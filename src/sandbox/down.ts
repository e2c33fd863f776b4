import { readdir, rm, rmdir } from 'node:fs/promises';
import { NotFoundError } from '../util/errors.js';
import { exists } from '../util/local-files.js';
import { settleLimit } from '../util/pool.js';
import { removeHostCgroups } from './cgroups.js';
import { deleteLink, deleteNetns, isMountPoint, netnsDir } from './network.js';
import { checkSandboxEnvironment } from './preflight.js';
import { killHostProcesses, netnsPids } from './processes.js';
import { runProgram } from './run.js';
import { checkSandboxName, readRecord, sandboxDir } from './store.js';
import { haltHost, hostInitPid, waitForExit } from './systemd-host.js';
import type { SandboxRecord } from './types.js';

// A halting host stops its services with their own stop commands; one that takes longer is killed.
const haltTimeoutMs = 5000;

/**
 * Removes every kernel object of a sandbox, whichever of them exist: processes, cgroups, veth pairs,
 * network namespaces, the bridge (qdiscs go with their devices; mounts live only in the hosts' own mount
 * namespaces and go with their last process). systemd hosts are first asked to halt, all at once, so
 * their services stop as on a real shutdown; what is still running after a few seconds is killed.
 */
export async function teardown(rec: SandboxRecord): Promise<void> {
  const inits = await Promise.all(
    rec.hosts.map(async (h) => (h.cgroups ? hostInitPid(await netnsPids(h.netns)) : undefined)),
  );
  for (const pid of inits) if (pid) haltHost(pid);
  const results = await settleLimit(rec.hosts, 32, async (h, i) => {
    const init = inits[i];
    if (init) await waitForExit(init, haltTimeoutMs);
    await killHostProcesses(h.netns);
    if (h.cgroups) await removeHostCgroups(h.cgroups);
    await deleteLink(h.veth);
    await deleteNetns(h.netns);
  });
  const bridge = await settleLimit([rec.bridge], 1, deleteLink);
  if (rec.createdNetnsDir) await removeNetnsDirIfUnused();
  const failed = [...results, ...bridge].find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

// iproute2 mounts /run/netns on first use and never removes it. When this sandbox caused that mount and
// no namespace is left in it, remove it; a plain umount fails harmlessly if someone is using it.
async function removeNetnsDirIfUnused(): Promise<void> {
  if (!(await exists(netnsDir))) return;
  if ((await readdir(netnsDir)).length > 0) return;
  if (await isMountPoint(netnsDir)) await runProgram('umount', [netnsDir]);
  if (!(await isMountPoint(netnsDir))) await rmdir(netnsDir).catch(() => {});
}

/** Removes a sandbox completely; safe to repeat after a failed or interrupted down. */
export async function sandboxDown(name: string): Promise<void> {
  checkSandboxName(name);
  const dir = sandboxDir(name);
  if (!(await exists(dir))) {
    throw new NotFoundError(`sandbox ${name} does not exist (see berth sandbox ls)`);
  }
  await checkSandboxEnvironment();
  const rec = await readRecord(name);
  if (rec) await teardown(rec);
  await rm(dir, { recursive: true, force: true });
}

import { readdir, rm, rmdir } from 'node:fs/promises';
import { NotFoundError } from '../util/errors.js';
import { exists } from '../util/files.js';
import { settleLimit } from '../util/pool.js';
import { deleteLink, deleteNetns, isMountPoint, netnsDir } from './network.js';
import { checkSandboxEnvironment } from './preflight.js';
import { killHostProcesses } from './processes.js';
import { runProgram } from './run.js';
import { checkSandboxName, readRecord, sandboxDir } from './store.js';
import type { SandboxRecord } from './types.js';

/**
 * Removes every kernel object of a sandbox, whichever of them exist: processes, veth pairs, network
 * namespaces, the bridge (qdiscs go with their devices; mounts live only in the hosts' own mount
 * namespaces and go with their last process).
 */
export async function teardown(rec: SandboxRecord): Promise<void> {
  const results = await settleLimit(rec.hosts, 16, async (h) => {
    await killHostProcesses(h.netns);
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

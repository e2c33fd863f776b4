// `k0s reset` (pkg/cleanup), refused while k0s runs: the controller's system users deleted, the
// k0scontroller/k0sworker services uninstalled, every mount under the data dir undone (deepest first,
// lazily when busy, as v1.29.11+/v1.30.7+ do), the data dir and /run/k0s removed, then CNI leftovers and
// the kube-bridge link. /etc/k0s, the binary and /var/lib/kubelet stay, as with k0s. The stand-in starts no
// pod containers, so reset's containerd step has nothing to stop beyond /run/k0s's netns mounts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { klog } from '../k3s/standin-log.js';
import type { ClusterSettings } from './cluster-config.js';
import { systemUsers } from './install-command.js';
import { CNI_LEFTOVERS, type K0sPaths, RUN_DIR } from './k0s-paths.js';
import { uninstallServices } from './k0s-service.js';

/** Mount points at or below `dir`, deepest first (/proc/self/mountinfo escapes spaces as \040). */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => Boolean(m))
    .map((m) => m.replace(/\\(\d{3})/g, (_x, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function runReset(p: K0sPaths, c: ClusterSettings | undefined): string[] {
  const errors: string[] = [];
  const mountinfo = () =>
    existsSync('/proc/self/mountinfo') ? readFileSync('/proc/self/mountinfo', 'utf8') : '';
  for (const m of mountsUnder(mountinfo(), `${RUN_DIR}/netns`)) spawnSync('umount', [m]);
  if (c)
    for (const u of systemUsers(c)) {
      if (spawnSync('getent', ['passwd', u], { stdio: 'ignore' }).status !== 0) continue;
      const r = spawnSync('userdel', [u], { encoding: 'utf8' });
      if (r.status !== 0) errors.push(`failed to delete user ${u}: ${r.stderr.trim()}`);
    }
  errors.push(...uninstallServices());
  for (const m of mountsUnder(mountinfo(), p.dataDir)) {
    if (m === p.dataDir) continue;
    if (spawnSync('umount', [m]).status !== 0 && spawnSync('umount', ['-l', m]).status !== 0)
      errors.push(`failed to unmount ${m}`);
  }
  const dataDirMounted = mountsUnder(mountinfo(), p.dataDir).includes(p.dataDir);
  try {
    if (dataDirMounted) {
      for (const entry of existsSync(p.dataDir) ? readdirSync(p.dataDir) : [])
        rmSync(`${p.dataDir}/${entry}`, { recursive: true, force: true });
    } else rmSync(p.dataDir, { recursive: true, force: true });
    rmSync(RUN_DIR, { recursive: true, force: true });
  } catch (e) {
    errors.push(`failed to delete k0s directories: ${(e as Error).message}`);
  }
  for (const f of CNI_LEFTOVERS) rmSync(f, { force: true });
  if (spawnSync('ip', ['link', 'show', 'kube-bridge'], { stdio: 'ignore' }).status === 0)
    spawnSync('ip', ['link', 'delete', 'kube-bridge'], { stdio: 'ignore' });
  if (!errors.length) klog.info('k0s cleanup operations done.');
  klog.warn('To ensure a full reset, a node reboot is recommended.');
  return errors;
}

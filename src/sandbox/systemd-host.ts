// A sandbox host with the machine's own systemd as PID 1, so that what cluster images' scripts do on a real
// server (systemctl enable --now, journalctl -u, kubeadm restarting the kubelet) works unchanged. This
// file holds what such a host's boot does besides the common part in boot.ts: joining its own cgroups,
// a private /dev, read-only kernel settings, the machine's enabled units kept off, and the wait until
// `systemctl is-system-running` says running.

import { spawn } from 'node:child_process';
import { access, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError, TimeoutError } from '../util/errors.js';
import { shellQuote as q } from '../util/shell.js';
import { type CgroupLayout, hostCgroupDir } from './cgroups.js';
import { alive } from './processes.js';

export const systemdPath = '/lib/systemd/systemd';

/** What a systemd host's boot needs beyond the common plan. */
export interface SystemdBoot {
  cgroups: CgroupLayout;
  /** The host's cgroup name in every hierarchy. */
  cgroupLeaf: string;
  /** 32 hex digits; a fresh /etc/machine-id, so journals and DHCP identities differ between hosts. */
  machineId: string;
}

/**
 * Units kept off by masking: they would change the machine's global state (kernel settings, modules,
 * binfmt handlers, the machine's debugfs, tracefs and configfs), or fail on a host without a real
 * console and leave it `degraded`.
 */
export const maskedUnits = [
  'systemd-sysctl.service',
  'systemd-modules-load.service',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'proc-sys-fs-binfmt_misc.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-kernel-config.mount',
  'sys-fs-fuse-connections.mount',
  'console-getty.service',
  'getty-static.service',
];

/**
 * The first lines of a systemd host's boot script. PID 1 of the new PID namespace moves itself into the
 * host's cgroups (the outer unshare stays in berth's, so systemd finds only its own processes below its
 * root), then runs the rest of the script again in a cgroup namespace rooted there.
 */
export function joinCgroupsScript(b: SystemdBoot): string {
  const joins = b.cgroups.mounts.map(
    (m) => `echo 0 > ${q(`${hostCgroupDir(m, b.cgroupLeaf)}/cgroup.procs`)}`,
  );
  return `if [ "\${1:-}" != cgroup-rooted ]; then
${joins.join('\n')}
exec unshare -C /bin/sh "$0" cgroup-rooted
fi
`;
}

/**
 * The kernel file systems of a systemd host, in the new root "$R". /proc/sys and /sys are read-only but
 * for the host's own network settings; /sys/fs/cgroup holds the machine's hierarchies seen from the
 * host's cgroup namespace, never the machine's own mount (systemd would take over the machine's
 * cgroups, or create new hierarchies on it). /dev is private: a few device nodes, its own devpts, and a
 * file on /dev/console that keeps systemd's console output ("$H/console").
 */
export function systemdMountsScript(b: SystemdBoot): string {
  const cg = b.cgroups;
  const v2Only = cg.mounts.some((m) => m.dir === '');
  const cgroupMounts = v2Only
    ? ['mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"']
    : [
        'mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs "$R/sys/fs/cgroup"',
        ...cg.mounts.map((m) => {
          const at = `"$R/sys/fs/cgroup/"${q(m.dir)}`;
          const opts = m.type === 'cgroup2' ? 'nosuid,nodev,noexec' : `nosuid,nodev,noexec,${m.options}`;
          return `mkdir -p ${at} && mount -t ${m.type} -o ${q(opts)} ${m.type} ${at}`;
        }),
        ...cg.links.map((l) => `ln -s ${q(l.target)} "$R/sys/fs/cgroup/"${q(l.name)}`),
      ];
  return `mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
if [ -e "$R/proc/sysrq-trigger" ]; then
  mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
  mount -o remount,bind,ro "$R/proc/sysrq-trigger"
fi
# A sysfs mounted from inside the namespace shows the host's own network devices.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
${cgroupMounts.join('\n')}
mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty fuse; do if [ -e /dev/$d ]; then cp -a /dev/$d "$R/dev/"; fi; done
if [ -e /dev/net/tun ]; then mkdir "$R/dev/net" && cp -a /dev/net/tun "$R/dev/net/"; fi
mkdir -m 755 "$R/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mkdir -m 1777 "$R/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
: > "$H/console"
touch "$R/dev/console"
mount --bind "$H/console" "$R/dev/console"
`;
}

/**
 * The units of a systemd host, set in its upper layer before boot: multi-user as the default target;
 * of the machine's enabled units (its containerd, registry, databases, timers...) only ssh.service is
 * kept (on the first boot only: the units enabled on the host since then start again after a restart); the units of `maskedUnits` masked. The host's network is configured before systemd starts, so
 * network-online.target is reached at boot, as on a server whose network comes up at boot.
 */
export function systemdUnitsScript(b: SystemdBoot): string {
  const etc = '"$R/etc/systemd/system"';
  return `printf '%s\\n' ${q(b.machineId)} > "$R/etc/machine-id"
mkdir -p ${etc}/multi-user.target.wants
if [ ! -e "$H/provisioned" ]; then
  for l in ${etc}/*.wants/* ${etc}/*.requires/* ${etc}/*.upholds/*; do
    case "$l" in */multi-user.target.wants/ssh.service | */multi-user.target.wants/network-online.target) ;; *) if [ -L "$l" ] || [ -e "$l" ]; then rm -f "$l"; fi ;; esac
  done
fi
ln -sfn /lib/systemd/system/ssh.service ${etc}/multi-user.target.wants/ssh.service
ln -sfn /lib/systemd/system/network-online.target ${etc}/multi-user.target.wants/network-online.target
ln -sfn /lib/systemd/system/multi-user.target ${etc}/default.target
for u in ${maskedUnits.join(' ')}; do ln -sfn /dev/null ${etc}/$u; done
`;
}

/** The last line of a systemd host's boot script (in the new root, after pivot_root). */
export const execSystemdLine = `exec env -i container=berth PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${systemdPath} --system </dev/null`;

/** Whether this machine can boot systemd hosts. */
export async function haveSystemd(): Promise<boolean> {
  try {
    await access(systemdPath);
    return true;
  } catch {
    return false;
  }
}

const inotifyLimit = '/proc/sys/fs/inotify/max_user_instances';
// what one idle host takes (PID 1, journald, logind, dbus) plus a user manager per login, with room
const inotifyPerHost = 16;

/**
 * Makes room for `hosts` more systemd hosts among the inotify instances root may hold. The limit counts
 * every host's managers together (they all run as the machine's root), and the kernel's default of 128
 * stops a sandbox at about a dozen systemd hosts. The limit is raised, never lowered; returns the new
 * value when it changed.
 */
export async function ensureInotifyInstances(hosts: number): Promise<number | undefined> {
  const limit = Number((await readFile(inotifyLimit, 'utf8')).trim());
  let inUse = 0;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === 'anon_inode:inotify') inUse++;
    }
  }
  const wanted = inUse + hosts * inotifyPerHost;
  if (!(wanted > limit)) return undefined;
  await writeFile(inotifyLimit, String(wanted));
  return wanted;
}

/** SIGRTMIN+3 with glibc's SIGRTMIN (34): systemd halts on it. */
export const haltSignal = 37;

/**
 * The host's init, as the machine numbers it: among the processes of the host's network namespace, the
 * one that is PID 1 of a PID namespace one level below the machine's (deeper ones are containers the
 * host itself runs).
 */
export async function hostInitPid(pids: number[]): Promise<number | undefined> {
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const ns = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (ns?.length === 2 && ns[1] === '1') return pid;
  }
  return undefined;
}

async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Runs systemctl inside the host (its mount and PID namespaces) and returns its output and status. */
function hostSystemctl(initPid: number, args: string[], timeoutMs: number) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('nsenter', ['-t', String(initPid), '-m', '-p', '--', 'systemctl', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(timeoutMs, 1));
    child.on('error', () => {
      clearTimeout(timer);
      resolve({ code: null, out });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.trim() });
    });
  });
}

/** One line naming a degraded host and its failed units, from `systemctl list-units --failed --plain`. */
export function degradedMessage(hostname: string, failedList: string): string {
  const units = failedList
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
  return `${hostname}: systemd is degraded, failed units: ${units.join(', ') || 'none listed'} (see systemctl status UNIT on the host)`;
}

/**
 * Waits until the host's systemd has finished starting up and says `running`. A host that ends up
 * `degraded` is named with its failed units in one line; `lastOutput` tells why a host never got there.
 */
export async function waitForSystemRunning(
  hostname: string,
  outerPid: number,
  deadline: number,
  lastOutput: () => Promise<string>,
): Promise<void> {
  let init: number | undefined;
  for (let attempt = 0; ; attempt++) {
    if (!alive(outerPid)) {
      throw new EnvironmentError(`${hostname}: host did not start: ${await lastOutput()}`);
    }
    init ??= (await childPids(outerPid))[0];
    // systemctl can talk to systemd once its private socket is there
    if (
      init &&
      (await access(`/proc/${init}/root/run/systemd/private`).then(
        () => true,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline || attempt > 100_000) {
      throw new TimeoutError(
        `${hostname}: systemd did not start in time (last output: ${await lastOutput()})`,
      );
    }
    await sleep(25);
  }
  const state = await hostSystemctl(init, ['is-system-running', '--wait'], deadline - Date.now());
  if (state.out === 'running') return;
  if (state.out === 'degraded') {
    const failed = await hostSystemctl(init, ['list-units', '--failed', '--plain', '--no-legend'], 10_000);
    throw new EnvironmentError(degradedMessage(hostname, failed.out));
  }
  if (state.code === null || Date.now() > deadline) {
    throw new TimeoutError(
      `${hostname}: systemd did not finish starting in time (state ${state.out || 'unknown'}; see systemctl list-jobs on the host)`,
    );
  }
  throw new EnvironmentError(
    `${hostname}: systemd is ${state.out || 'in an unknown state'} after boot (${await lastOutput()})`,
  );
}

/** Asks every host's systemd to halt, without waiting. */
export function haltHost(initPid: number): void {
  try {
    process.kill(initPid, haltSignal);
  } catch {
    // already gone
  }
}

/** Waits (bounded) until a halted host's init has exited; the caller kills whatever is left. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
    await sleep(25);
  }
  return false;
}

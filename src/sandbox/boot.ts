import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServicesAtBoot } from '../host/services.js';
import { EnvironmentError, TimeoutError } from '../util/errors.js';
import { shellQuote as q } from '../util/shell.js';
import { alive } from './processes.js';
import { tbfArgs } from './rate.js';
import { lastLine } from './run.js';
import {
  execSystemdLine,
  joinCgroupsScript,
  type SystemdBoot,
  systemdMountsScript,
  systemdUnitsScript,
} from './systemd-host.js';

export type HostInit = 'systemd' | 'sshd';

export interface BootPlan {
  /** The host's folder: upper/work dirs, root mount point, keys and configs. */
  dir: string;
  hostname: string;
  netns: string;
  ip: string;
  prefix: number;
  gateway: string;
  user: string;
  bandwidth?: string;
  /** With systemd, what its boot needs; without, sshd is the host's PID 1. */
  systemd?: SystemdBoot;
}

/**
 * The shell script that turns a namespace into a host: it runs inside the host's network namespace and
 * a fresh private mount, UTS, IPC and PID namespace (as PID 1 there), builds the root as an overlay of
 * the machine's `/`, then pivots into it and becomes the host's init: systemd, or sshd on machines
 * without it. Passwords arrive on stdin (for chpasswd), never in a file. The same script boots the host
 * again after a restart (host-faults.ts): the network namespace keeps its addresses, and what the first boot
 * set up in the host's own files (/etc/hosts, enabled units) stays as the host left it, as on a server.
 */
export function bootScript(p: BootPlan): string {
  const shape = p.bandwidth ? `tc qdisc replace dev eth0 root ${tbfArgs(p.bandwidth).join(' ')}\n` : '';
  const sd = p.systemd;
  return `set -eu
H=${q(p.dir)}
R="$H/root"
${sd ? joinCgroupsScript(sd) : ''}# The new mount namespace starts as a copy of the machine's, including a handle on every network
# namespace in /run/netns; dropping them keeps other sandboxes' namespaces from living on in this one.
if mountpoint -q /run/netns; then umount -l /run/netns; fi
ip link set dev lo up
ip addr replace ${p.ip}/${p.prefix} dev eth0
ip link set dev eth0 up
ip route replace default via ${p.gateway}
${shape}mount -t overlay overlay -o "lowerdir=/,upperdir=$H/upper,workdir=$H/work" "$R"
${sd ? systemdMountsScript(sd) : sshdMountsScript}mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir -m 755 "$R/run/sshd"
mkdir -m 1777 "$R/run/lock"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
# containerd's overlay snapshots cannot have an overlay as upper layer: give it a plain directory.
mkdir -p "$R/var/lib/containerd"
mount --bind "$H/containerd" "$R/var/lib/containerd"
echo ${q(p.hostname)} > /proc/sys/kernel/hostname
cp "$H/hostname" "$R/etc/hostname"
if [ ! -e "$H/provisioned" ]; then cp "$H/hosts" "$R/etc/hosts"; fi
rm -f "$R"/etc/ssh/ssh_host_*
cp "$H/ssh_host_ed25519_key" "$H/ssh_host_ed25519_key.pub" "$R/etc/ssh/"
chmod 600 "$R/etc/ssh/ssh_host_ed25519_key"
cp "$H/sshd_config" "$R/etc/ssh/sshd_config"
if chroot "$R" id -u ${p.user} >/dev/null 2>&1; then
  chroot "$R" usermod -a -G sudo ${p.user}
else
  chroot "$R" useradd -m -s /bin/bash -G sudo ${p.user}
fi
chroot "$R" chpasswd
# root starts with Debian's stock shell files, as on a fresh server: the machine's own (developer tools
# such as pyenv, which rehashes under a lock on every bash start) would slow and stall every SSH session.
for f in bashrc profile; do [ -f /usr/share/base-files/dot.$f ] && cp /usr/share/base-files/dot.$f "$R/root/.$f"; done
install -d -m 700 "$R/root/.ssh"
install -m 600 "$H/authorized_keys" "$R/root/.ssh/authorized_keys"
uid=$(chroot "$R" id -u ${p.user})
gid=$(chroot "$R" id -g ${p.user})
home=$(chroot "$R" getent passwd ${p.user} | cut -d: -f6)
install -d -m 700 -o "$uid" -g "$gid" "$R$home/.ssh"
install -m 600 -o "$uid" -g "$gid" "$H/authorized_keys" "$R$home/.ssh/authorized_keys"
${sd ? systemdUnitsScript(sd) : ''}: > "$H/provisioned"
cd "$R"
pivot_root . mnt
cd /
umount -l /mnt
${sd ? execSystemdLine : `${sshdBootLines}exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config </dev/null`}
`;
}

// With sshd as init, berth's services would stay down after a restart (host-faults.ts), where on a server
// its init starts them again: the host's boot does what such an init does.
const sshdBootLines = `# after a restart, berth's services come back as enabled services do
${startServicesAtBoot()}
`;

// Without systemd, the host shares the machine's /dev and cgroup tree.
const sshdMountsScript = `mount -t proc proc "$R/proc"
# A sysfs mounted from inside the namespace shows the host's own network devices.
mount -t sysfs sysfs "$R/sys"
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
`;

export function sshdConfig(ip: string): string {
  return `ListenAddress ${ip}:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
UseDNS no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
PidFile /run/sshd.pid
# Deploy tools open many connections and sessions at once; the defaults would drop some.
MaxStartups 200
MaxSessions 200
`;
}

/** Starts the host detached from this process, so it outlives the CLI; returns its PID. */
export function startHost(p: BootPlan, scriptPath: string, passwords: string): Promise<number> {
  const logFd = openSync(join(p.dir, 'boot.log'), 'a', 0o600);
  try {
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${p.netns}`,
        '--',
        'unshare',
        '-m',
        '-u',
        '-i',
        // its own process table, as a separate machine has: a hook's pkill or a reset's sweep over /proc
        // must not reach the processes of the other hosts
        '-p',
        '-f',
        '--propagation',
        'private',
        '/bin/sh',
        scriptPath,
      ],
      {
        detached: true,
        stdio: ['pipe', logFd, logFd],
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      },
    );
    return new Promise((resolve, reject) => {
      child.on('error', (err) => reject(new EnvironmentError(`${p.hostname}: cannot start: ${err.message}`)));
      child.on('spawn', () => {
        child.stdin?.end(passwords);
        child.unref();
        resolve(child.pid as number);
      });
    });
  } finally {
    closeSync(logFd);
  }
}

// /proc/PID/net/tcp lists the sockets of the process's network namespace: "0A" is LISTEN, and the local
// address is hex, little-endian for the IP, big-endian for the port.
function listensOn(tcpTable: string, ip: string, port: number): boolean {
  const hexIp = ip
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  const local = `${hexIp}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  return tcpTable.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === local && f[3] === '0A';
  });
}

function tcpAccepts(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

/**
 * The last line the host's boot wrote, for error messages (the files themselves go away with a failed
 * sandbox): its script's output, else systemd's console.
 */
export async function bootOutput(p: BootPlan): Promise<string> {
  for (const file of ['boot.log', 'console']) {
    const text = await readFile(join(p.dir, file), 'utf8').catch(() => '');
    // util-linux follows a failed mount's message with this hint, which says nothing of the cause
    const line = lastLine(text.replace(/^.*dmesg\(1\) may have more information.*$/gm, ''));
    if (line) return line;
  }
  return 'no output';
}

/** Waits until the host's sshd accepts TCP on port 22; fails early with the boot's last output line. */
export async function waitForSsh(p: BootPlan, pid: number, port: number, deadline: number): Promise<void> {
  const lastLogLine = () => bootOutput(p);
  for (let attempt = 0; ; attempt++) {
    if (!alive(pid)) {
      throw new EnvironmentError(`${p.hostname}: host did not start: ${await lastLogLine()}`);
    }
    const table = await readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '');
    if (listensOn(table, p.ip, port) && (await tcpAccepts(p.ip, port, 1000))) return;
    if (Date.now() > deadline || attempt > 100_000) {
      throw new TimeoutError(
        `${p.hostname}: sshd did not accept connections on ${p.ip}:${port} in time (last output: ${await lastLogLine()})`,
      );
    }
    await sleep(25);
  }
}

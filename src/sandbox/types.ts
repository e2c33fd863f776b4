/** One sandbox host as callers see it: where to reach it and how to log in. */
export interface SandboxHost {
  name: string;
  ip: string;
  port: number;
  rootPassword: string;
  user: string;
  userPassword: string;
  /** The host's network namespace on the machine (`ip netns exec NETNS ...`). */
  netns: string;
  /** The host's SSH host key, an OpenSSH public key line, to pin instead of trusting on first use. */
  hostKey: string;
}

export interface Sandbox {
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  /** Private key file (0600) accepted for root and the user on every host. */
  keyPath: string;
  hosts: SandboxHost[];
  bandwidth?: string;
  /** The hosts' PID 1: systemd (with systemctl and journalctl), or sshd alone. */
  init: 'systemd' | 'sshd';
}

/** What is kept on disk: everything needed to tear the sandbox down, passwords encrypted. */
export interface SandboxRecord {
  version: 1;
  name: string;
  /** Random tag in the kernel object names, so that sandboxes of different BERTH_HOMEs never clash. */
  id: string;
  subnet: string;
  gateway: string;
  bridge: string;
  bandwidth?: string;
  /** Absent in records written before hosts could run systemd: those ran sshd. */
  init?: 'systemd' | 'sshd';
  /** Whether this sandbox made /run/netns (iproute2 mounts it on first use); down removes it if unused. */
  createdNetnsDir: boolean;
  state: 'creating' | 'up';
  hosts: HostRecord[];
}

export interface HostRecord {
  name: string;
  ip: string;
  port: number;
  netns: string;
  /** Machine-side end of the host's veth pair, a port of the bridge. */
  veth: string;
  rootPassword: string;
  user: string;
  userPassword: string;
  hostKey: string;
  /** The outer process of the host (its init is that process's child). */
  pid?: number;
  /** systemd hosts: the host's cgroup in every hierarchy, removed (with what is below) by down. */
  cgroups?: string[];
}

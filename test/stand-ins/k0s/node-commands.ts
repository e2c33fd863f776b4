// The k0s commands that read this node's state: status, version, sysinfo, kubeconfig admin/create and
// etcd member-list/leave.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { signLeaf } from '../k3s/openssl-pki.js';
import { bool, type FlagValues, str } from '../kubeadm/cobra-flags.js';
import { toYaml } from '../kubeadm/yaml-write.js';
import type { ClusterSettings } from './cluster-config.js';
import { localEtcdClient, peerUrl } from './etcd-component.js';
import { joinUrl } from './join-token.js';
import { type K0sPaths, k0sVersion } from './k0s-paths.js';
import { k0sKubeconfig } from './k0s-pki.js';
import { serviceState, systemdRunning } from './k0s-service.js';
import { readStatus } from './status-socket.js';

export class NodeCommandError extends Error {}

export async function statusText(statusSocket: string, out: string | undefined): Promise<string> {
  const st = await readStatus(statusSocket);
  const svc = serviceState();
  const full = {
    ...st,
    SysInit: svc ? (systemdRunning() ? 'linux-systemd' : 'berth-supervisor') : '',
    StubFile: svc?.file ?? '',
  };
  if (out === 'json') return `${JSON.stringify(full, null, 2)}\n`;
  if (out === 'yaml') return toYaml(full);
  const lines = [
    `Version: ${st.Version}`,
    `Process ID: ${st.Pid}`,
    `Role: ${st.Role}`,
    `Workloads: ${st.Workloads}`,
    `SingleNode: ${st.SingleNode}`,
  ];
  if (st.Workloads && st.WorkerToAPIConnectionStatus) {
    lines.push(`Kube-api probing successful: ${st.WorkerToAPIConnectionStatus.Success}`);
    lines.push(`Kube-api probing last error: ${st.WorkerToAPIConnectionStatus.Message}`);
  }
  if (full.SysInit) lines.push(`Init System: ${full.SysInit}`);
  if (full.StubFile) lines.push(`Service file: ${full.StubFile}`);
  return `${lines.join('\n')}\n`;
}

export function versionText(values: FlagValues): string {
  const v = k0sVersion();
  const all = { k0s: v.k0s, kubernetes: v.kube, etcd: 'v3.4.23', containerd: 'v1.6.20' };
  if (bool(values, 'json')) return `${JSON.stringify(bool(values, 'all') ? all : { k0s: v.k0s })}\n`;
  if (bool(values, 'all'))
    return Object.entries(all)
      .map(([k, x]) => `${k} :\n  ${x}\n`)
      .join('');
  return `${v.k0s}\n`;
}

export function sysinfoText(dataDir: string): string {
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  let free = 0;
  try {
    const s = statfsSync(dataDir.split('/').slice(0, -1).join('/') || '/');
    free = s.bavail * s.bsize;
  } catch {
    free = 0;
  }
  const memOk = totalmem() >= 1024 ** 3;
  return [
    `Total memory: ${gib(totalmem())} (${memOk ? 'pass' : 'warning: 1.0 GiB recommended'})`,
    `Disk space available for ${dataDir}: ${gib(free)} (pass)`,
    `Number of CPUs: ${cpus().length} (pass)`,
    'Operating system: Linux (pass)',
    `  Linux kernel release: ${release()} (pass)`,
    `  CGroups: ${existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'version 2' : 'version 1'} (pass)`,
    '',
  ].join('\n');
}

export function kubeconfigAdmin(p: K0sPaths, c: ClusterSettings): string {
  let text: string;
  try {
    text = readFileSync(p.adminConf, 'utf8');
  } catch (e) {
    throw new NodeCommandError(
      `failed to read admin config, check if the control plane is initialized on this node: ${(e as Error).message}`,
    );
  }
  return text.split(`https://localhost:${c.port}`).join(joinUrl(c.externalAddress || c.address, c.port));
}

export async function kubeconfigCreate(
  p: K0sPaths,
  c: ClusterSettings,
  user: string | undefined,
  values: FlagValues,
): Promise<string> {
  if (!user) throw new NodeCommandError('accepts 1 arg(s), received 0');
  const ca = {
    cert: readFileSync(join(p.pki, 'ca.crt'), 'utf8'),
    key: readFileSync(join(p.pki, 'ca.key'), 'utf8'),
  };
  const groups = (str(values, 'groups') ?? '').split(',').filter(Boolean);
  // one O= per group: the subject openssl gets is /O=<org>/CN=<cn>
  const client = await signLeaf(ca, {
    cn: user,
    ...(groups.length ? { org: groups.join('/O=') } : {}),
    usage: 'client',
  });
  return k0sKubeconfig(joinUrl(c.externalAddress || c.address, c.port), ca.cert, client);
}

export async function etcdMemberList(p: K0sPaths): Promise<string> {
  let members: Awaited<ReturnType<ReturnType<typeof localEtcdClient>['list']>>;
  try {
    members = await localEtcdClient(p).list();
  } catch (e) {
    throw new NodeCommandError(`can't list etcd cluster members: ${(e as Error).message}`);
  }
  return `${JSON.stringify({ members: Object.fromEntries(members.map((m) => [m.name, m.peerURLs[0]])) })}\n`;
}

export async function etcdLeave(p: K0sPaths, c: ClusterSettings, values: FlagValues): Promise<string> {
  const addr = str(values, 'peer-address') ?? c.peerAddress;
  const url = peerUrl(addr);
  const client = localEtcdClient(p);
  const member = (await client.list()).find((m) => m.peerURLs.includes(url));
  if (!member) throw new NodeCommandError(`etcd member with peer address ${url} not found`);
  await client.remove(member.id);
  return `Successfully removed etcd member ${member.name} (${url})\n`;
}

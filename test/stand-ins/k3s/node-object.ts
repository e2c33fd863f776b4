// Node objects as a k3s kubelet registers them, and how the node controller judges them.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem } from 'node:os';
import type { KubeObject } from '../kube-api/kube-object.js';
import { CONTAINERD_VERSION, K3S_VERSION } from './standin-paths.js';

export interface NodeRegistration {
  name: string;
  internalIp: string;
  externalIps: string[];
  labels: string[];
  taints: string[];
  server: boolean;
  etcd: boolean;
  nodeArgs: string[];
}

/** A node is judged unreachable when its kubelet has not posted status for the node-monitor grace period. */
export const NODE_GRACE_MS = 40_000;

function readTrimmed(path: string, fallback: string): string {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8').trim() : fallback;
  } catch {
    return fallback;
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readTrimmed('/etc/os-release', ''));
  return m ? m[1] : 'Linux';
}

const goArch = (): string =>
  ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le' })[arch()] ?? arch();

/** Parses `key=value:Effect` / `key:Effect` as the kubelet's --register-with-taints does. */
export function parseTaint(spec: string): KubeObject {
  const m = /^([^=:]+)(=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(spec);
  if (!m) throw new Error(`invalid taint spec: ${spec}, unknown taint effect or missing effect`);
  return m[3] !== undefined ? { key: m[1], value: m[3], effect: m[4] } : { key: m[1], effect: m[4] };
}

export function parseLabel(spec: string): [string, string] {
  const at = spec.indexOf('=');
  return at < 0 ? [spec, ''] : [spec.slice(0, at), spec.slice(at + 1)];
}

export function readyCondition(now: Date): KubeObject {
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    type: 'Ready',
    status: 'True',
    lastHeartbeatTime: t,
    lastTransitionTime: t,
    reason: 'KubeletReady',
    message: 'kubelet is posting ready status',
  };
}

export function nodeConditions(now: Date): KubeObject[] {
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const ok = (type: string, reason: string, message: string) => ({
    type,
    status: 'False',
    lastHeartbeatTime: t,
    lastTransitionTime: t,
    reason,
    message,
  });
  return [
    ok('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    ok('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    ok('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    readyCondition(now),
  ];
}

export function buildNodeObject(reg: NodeRegistration, now = new Date()): KubeObject {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': goArch(),
    'beta.kubernetes.io/instance-type': 'k3s',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'kubernetes.io/hostname': reg.name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'k3s',
  };
  if (reg.server) {
    labels['node-role.kubernetes.io/control-plane'] = 'true';
    labels['node-role.kubernetes.io/master'] = 'true';
    if (reg.etcd) labels['node-role.kubernetes.io/etcd'] = 'true';
  }
  for (const spec of reg.labels) {
    const [k, v] = parseLabel(spec);
    labels[k] = v;
  }
  const addresses = [{ type: 'InternalIP', address: reg.internalIp }];
  for (const ip of reg.externalIps) addresses.push({ type: 'ExternalIP', address: ip });
  addresses.push({ type: 'Hostname', address: reg.name });
  const memKi = `${Math.floor(totalmem() / 1024)}Ki`;
  const capacity = {
    cpu: String(cpus().length),
    'ephemeral-storage': '61255492Ki',
    memory: memKi,
    pods: '110',
  };
  const spec: KubeObject = { providerID: `k3s://${reg.name}` };
  if (reg.taints.length) spec.taints = reg.taints.map(parseTaint);
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name: reg.name,
      labels,
      annotations: {
        'k3s.io/hostname': reg.name,
        'k3s.io/internal-ip': reg.internalIp,
        'k3s.io/node-args': JSON.stringify(reg.nodeArgs),
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec,
    status: {
      addresses,
      capacity,
      allocatable: { ...capacity },
      conditions: nodeConditions(now),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: goArch(),
        bootID: readTrimmed('/proc/sys/kernel/random/boot_id', randomUUID()),
        containerRuntimeVersion: CONTAINERD_VERSION,
        kernelVersion: release(),
        kubeProxyVersion: K3S_VERSION,
        kubeletVersion: K3S_VERSION,
        machineID: readTrimmed('/etc/machine-id', ''),
        operatingSystem: 'linux',
        osImage: osImage(),
        systemUUID: randomUUID(),
      },
    },
  };
}

/** What the node lifecycle controller would have made of a node whose heartbeats stopped. */
export function withLiveness(node: KubeObject, now: number): KubeObject {
  const conditions: KubeObject[] = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (!ready) return node;
  const beat = Date.parse(ready.lastHeartbeatTime ?? '');
  if (Number.isFinite(beat) && now - beat <= NODE_GRACE_MS) return node;
  const copy = structuredClone(node);
  const at = new Date(beat + NODE_GRACE_MS).toISOString().replace(/\.\d+Z$/, 'Z');
  copy.status.conditions = conditions.map((c) => ({
    ...c,
    status: 'Unknown',
    reason: 'NodeStatusUnknown',
    message: 'Kubelet stopped posting node status.',
    lastTransitionTime: at,
  }));
  const taints: KubeObject[] = copy.spec.taints ?? [];
  if (!taints.some((t) => t.key === 'node.kubernetes.io/unreachable')) {
    copy.spec.taints = [
      ...taints,
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: at },
    ];
  }
  return copy;
}

/** A kubelet status post: refreshes heartbeat times, and marks Ready anew after an outage. */
export function heartbeatStatus(node: KubeObject, now: Date): KubeObject {
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const conditions: KubeObject[] = node.status?.conditions?.length
    ? node.status.conditions
    : nodeConditions(now);
  return {
    ...node.status,
    conditions: conditions.map((c) => {
      const stale = now.getTime() - Date.parse(c.lastHeartbeatTime ?? '') > NODE_GRACE_MS;
      const fresh = c.type === 'Ready' ? readyCondition(now) : { ...c };
      return { ...fresh, lastHeartbeatTime: t, lastTransitionTime: stale ? t : (c.lastTransitionTime ?? t) };
    }),
  };
}

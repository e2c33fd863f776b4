// The Node a kubeadm node's kubelet registers (Ready only once the container runtime answers and the sandbox
// image is in, else NotReady with the kubelet's runtime message), and the mirror pods of its static pods.
import { randomUUID } from 'node:crypto';
import { cpus, release, totalmem } from 'node:os';
import { nodeConditions } from '../k3s/node-object.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { kubeVersion } from '../kubeadm/kubeadm-paths.js';

const goArch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

export function kubeletNode(
  name: string,
  internalIp: string,
  taints: KubeObject[],
  ready: boolean,
  labels: Record<string, string> = {},
): KubeObject {
  const now = new Date();
  const conditions = nodeConditions(now).map((c) =>
    c.type === 'Ready' && !ready
      ? {
          ...c,
          status: 'False',
          reason: 'KubeletNotReady',
          message: 'container runtime status check may not have completed yet',
        }
      : c,
  );
  const capacity = {
    cpu: String(cpus().length),
    'ephemeral-storage': '61255492Ki',
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
  };
  const { gitVersion } = kubeVersion();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': goArch(),
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': goArch(),
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...labels,
      },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: taints.length ? { taints } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: internalIp },
        { type: 'Hostname', address: name },
      ],
      capacity,
      allocatable: { ...capacity },
      conditions,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: goArch(),
        bootID: randomUUID(),
        containerRuntimeVersion: 'containerd://1.6.20',
        kernelVersion: release(),
        kubeProxyVersion: gitVersion,
        kubeletVersion: gitVersion,
        machineID: '',
        operatingSystem: 'linux',
        osImage: 'Linux',
        systemUUID: randomUUID(),
      },
    },
  };
}

/** The API's copy of a static pod: `<name>-<node>`, bound to the node, Running on the host network. */
export function mirrorPod(pod: KubeObject, nodeName: string, hostIp: string): KubeObject {
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const containers: KubeObject[] = pod.spec?.containers ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...pod.metadata,
      name: `${pod.metadata.name}-${nodeName}`,
      namespace: pod.metadata.namespace ?? 'default',
      annotations: {
        ...(pod.metadata.annotations ?? {}),
        'kubernetes.io/config.mirror': randomUUID(),
        'kubernetes.io/config.source': 'file',
      },
    },
    spec: { ...pod.spec, nodeName },
    status: {
      phase: 'Running',
      hostIP: hostIp,
      podIP: hostIp,
      startTime: t,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: t } },
      })),
    },
  };
}

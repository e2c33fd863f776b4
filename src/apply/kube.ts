import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';

// Reading the cluster through the Kubernetes API with the kubeconfig berth fetched, so "Ready" means what
// the API server says, not that a process started.

export interface NodeState {
  name: string;
  ready: boolean;
  roles: string[];
  version: string;
  internalIp?: string;
}

function nodeState(n: V1Node): NodeState {
  const labels = n.metadata?.labels ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return {
    name: n.metadata?.name ?? '',
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    roles,
    version: n.status?.nodeInfo?.kubeletVersion ?? '',
    internalIp: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
  };
}

export async function listNodes(kubeconfig: string): Promise<NodeState[]> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const list = await api.listNode();
  return list.items.map(nodeState);
}

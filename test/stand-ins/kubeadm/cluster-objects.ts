// The objects kubeadm keeps in the cluster: bootstrap-token Secrets, kube-public/cluster-info, the
// kubeadm-config and kubelet-config ConfigMaps, and the control-plane Node's labels and taint.
import { type BootstrapToken, parseToken, tokenSecret } from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { parseDuration } from './cobra-flags.js';
import type { KubeClient } from './kubeconfig.js';
import { toYaml } from './yaml-write.js';

export const SECRETS = '/api/v1/namespaces/kube-system/secrets';
export const KUBE_SYSTEM_CONFIGMAPS = '/api/v1/namespaces/kube-system/configmaps';
export const CLUSTER_INFO = '/api/v1/namespaces/kube-public/configmaps/cluster-info';

export interface TokenRequest {
  token: string;
  ttlMs?: number;
  expires?: string;
  description?: string;
  usages: string[];
  groups: string[];
}

/** A bootstrapTokens[] entry of an InitConfiguration (ttl default 24h, kubeadm's usages and group). */
export function tokenFromConfig(t: KubeObject): TokenRequest {
  return {
    token: String(t.token ?? ''),
    ttlMs: t.ttl === undefined ? 24 * 3600_000 : parseDuration(String(t.ttl)),
    ...(t.expires ? { expires: String(t.expires) } : {}),
    ...(t.description ? { description: String(t.description) } : {}),
    usages: (t.usages as string[]) ?? ['signing', 'authentication'],
    groups: (t.groups as string[]) ?? ['system:bootstrappers:kubeadm:default-node-token'],
  };
}

export function tokenObject(r: TokenRequest, now = Date.now()): BootstrapToken {
  const parsed = parseToken(r.token);
  if (!parsed)
    throw new Error(
      `the bootstrap token "${r.token}" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  const expires = r.expires ? new Date(r.expires) : r.ttlMs ? new Date(now + r.ttlMs) : undefined;
  return {
    id: parsed.id,
    secret: parsed.secret,
    usages: r.usages,
    groups: r.groups,
    ...(r.description ? { description: r.description } : {}),
    ...(expires ? { expires } : {}),
  };
}

export async function storeToken(client: KubeClient, r: TokenRequest): Promise<void> {
  await client.apply(SECRETS, tokenSecret(tokenObject(r)));
}

const configMap = (namespace: string, name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});

/** cluster-info: the CA and endpoint a joining node discovers; the bootstrap signer adds the JWS keys. */
export async function storeClusterInfo(client: KubeClient, server: string, caPem: string): Promise<void> {
  const live = await client.get(CLUSTER_INFO);
  await client.apply(
    '/api/v1/namespaces/kube-public/configmaps',
    configMap('kube-public', 'cluster-info', {
      ...(live?.data ?? {}),
      kubeconfig: clusterInfoKubeconfig(server, caPem),
    }),
  );
}

/** The kubeconfig cluster-info carries: one unnamed cluster, no users or contexts. */
export function clusterInfoKubeconfig(server: string, caPem: string): string {
  return toYaml({
    apiVersion: 'v1',
    clusters: [
      { cluster: { 'certificate-authority-data': Buffer.from(caPem).toString('base64'), server }, name: '' },
    ],
    contexts: null,
    'current-context': '',
    kind: 'Config',
    preferences: {},
    users: null,
  });
}

export async function storeKubeadmConfig(
  client: KubeClient,
  clusterConfiguration: KubeObject,
): Promise<void> {
  await client.apply(
    KUBE_SYSTEM_CONFIGMAPS,
    configMap('kube-system', 'kubeadm-config', { ClusterConfiguration: toYaml(clusterConfiguration) }),
  );
}

export async function storeKubeletConfig(
  client: KubeClient,
  kubeletConfiguration: KubeObject,
): Promise<void> {
  await client.apply(
    KUBE_SYSTEM_CONFIGMAPS,
    configMap('kube-system', 'kubelet-config', { kubelet: toYaml(kubeletConfiguration) }),
  );
}

/** mark-control-plane: the role label, the exclude-from-external-load-balancers label and the taint. */
export async function markControlPlane(
  client: KubeClient,
  nodeName: string,
  taints: KubeObject[] | undefined,
): Promise<void> {
  const path = `/api/v1/nodes/${nodeName}`;
  const node = await client.get(path);
  if (!node) throw new Error(`nodes "${nodeName}" not found`);
  node.metadata.labels = {
    ...(node.metadata.labels ?? {}),
    'node-role.kubernetes.io/control-plane': '',
    'node.kubernetes.io/exclude-from-external-load-balancers': '',
  };
  const wanted = taints ?? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
  const have: KubeObject[] = node.spec?.taints ?? [];
  node.spec = {
    ...(node.spec ?? {}),
    taints: [...have.filter((t) => !wanted.some((w) => w.key === t.key && w.effect === t.effect)), ...wanted],
  };
  await client.call('PUT', path, node);
}

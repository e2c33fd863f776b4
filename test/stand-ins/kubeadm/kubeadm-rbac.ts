// The RBAC objects kubeadm creates so that joining works: bootstrap tokens may create CSRs and read the
// Nodes, their CSRs are auto-approved, anonymous users read cluster-info, bootstrap tokens and nodes read the
// kubeadm-config and kubelet-config ConfigMaps, and (1.29+) the kubeadm:cluster-admins group is cluster-admin.
import type { KubeObject } from '../kube-api/kube-object.js';
import { ApiCallError, type KubeClient } from './kubeconfig.js';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
const user = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name });

function clusterBinding(name: string, role: string, subjects: KubeObject[]): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

function namespacedReader(
  namespace: string,
  name: string,
  object: string,
  subjects: KubeObject[],
  resource = 'configmaps',
) {
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace },
      rules: [{ apiGroups: [''], resources: [resource], resourceNames: [object], verbs: ['get'] }],
    },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    },
  };
}

async function applyReader(client: KubeClient, r: ReturnType<typeof namespacedReader>): Promise<void> {
  const ns = r.role.metadata.namespace;
  await client.apply(`${RBAC}/namespaces/${ns}/roles`, r.role);
  await client.apply(`${RBAC}/namespaces/${ns}/rolebindings`, r.binding);
}

/** upload-config: who may read kubeadm-config and kubelet-config. */
export async function configReaders(client: KubeClient): Promise<void> {
  const readers = [group(TOKEN_GROUP), group('system:nodes')];
  await applyReader(
    client,
    namespacedReader('kube-system', 'kubeadm:nodes-kubeadm-config', 'kubeadm-config', readers),
  );
  await applyReader(
    client,
    namespacedReader('kube-system', 'kubeadm:kubelet-config', 'kubelet-config', readers),
  );
}

/** bootstrap-token: what a joining node's token may do, and anonymous access to cluster-info. */
export async function bootstrapTokenRbac(client: KubeClient): Promise<void> {
  await client.apply(`${RBAC}/clusterroles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kubeadm:get-nodes' },
    rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
  });
  for (const b of [
    clusterBinding('kubeadm:get-nodes', 'kubeadm:get-nodes', [group(TOKEN_GROUP)]),
    clusterBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group(TOKEN_GROUP)]),
    clusterBinding(
      'kubeadm:node-autoapprove-bootstrap',
      'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
      [group(TOKEN_GROUP)],
    ),
    clusterBinding(
      'kubeadm:node-autoapprove-certificate-rotation',
      'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
      [group('system:nodes')],
    ),
  ])
    await client.apply(`${RBAC}/clusterrolebindings`, b);
  await applyReader(
    client,
    namespacedReader('kube-public', 'kubeadm:bootstrap-signer-clusterinfo', 'cluster-info', [
      user('system:anonymous'),
    ]),
  );
}

/** upload-certs: a joining control plane's bootstrap token may read the kubeadm-certs Secret. */
export async function certsReader(client: KubeClient): Promise<void> {
  await applyReader(
    client,
    namespacedReader(
      'kube-system',
      'kubeadm:kubeadm-certs',
      'kubeadm-certs',
      [group(TOKEN_GROUP)],
      'secrets',
    ),
  );
}

/**
 * 1.29+: the group admin.conf's user is in gets cluster-admin (made with super-admin.conf); then, as kubeadm
 * does, waits until the admin credentials are let in, for the API server sees the binding a little later.
 */
export async function clusterAdminsBinding(superAdmin: KubeClient, admin: KubeClient): Promise<void> {
  await superAdmin.apply(
    `${RBAC}/clusterrolebindings`,
    clusterBinding('kubeadm:cluster-admins', 'cluster-admin', [group('kubeadm:cluster-admins')]),
  );
  for (let i = 0; ; i++) {
    try {
      await admin.get('/api/v1/namespaces/kube-system/configmaps');
      return;
    } catch (e) {
      if (!(e instanceof ApiCallError) || e.status !== 403 || i >= 120) throw e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// RBAC as kube-apiserver's --authorization-mode=RBAC decides: a request is allowed when a ClusterRoleBinding,
// or a RoleBinding in the request's namespace, binds the user (by name, group or service account) to a role
// with a rule matching the verb, API group, resource (or resource/subresource) and name. Also the part of
// kube-apiserver's bootstrap policy that kubeadm builds on: cluster-admin for system:masters and the roles a
// joining kubelet's bootstrap token is bound to, and the controller-manager's user.
import { ApiError, type ApiUser, type KubeApiServer, type RequestAttributes } from './api-server.js';
import type { KubeObject } from './kube-object.js';

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

const has = (list: string[] | undefined, v: string) => (list ?? []).includes('*') || (list ?? []).includes(v);

function ruleMatches(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.group)) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resourceOk =
    resources.includes('*') ||
    resources.includes(resource) ||
    (a.subresource !== undefined && resources.includes(`*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return !names.length || (a.name !== undefined && names.includes(a.name));
}

function bindsUser(binding: KubeObject, user: ApiUser): boolean {
  return ((binding.subjects ?? []) as KubeObject[]).some((s) => {
    if (s.kind === 'User') return s.name === user.name;
    if (s.kind === 'Group') return user.groups.includes(s.name);
    if (s.kind === 'ServiceAccount')
      return user.name === `system:serviceaccount:${s.namespace ?? binding.metadata.namespace}:${s.name}`;
    return false;
  });
}

export function rbacAuthorizes(api: KubeApiServer, user: ApiUser, a: RequestAttributes): boolean {
  const clusterRole = api.typeOf('rbac.authorization.k8s.io', 'ClusterRole');
  const role = api.typeOf('rbac.authorization.k8s.io', 'Role');
  const rulesOf = (ref: KubeObject, namespace?: string): PolicyRule[] => {
    const r =
      ref.kind === 'ClusterRole'
        ? api.get(clusterRole, undefined, ref.name)
        : api.get(role, namespace, ref.name);
    return (r?.rules ?? []) as PolicyRule[];
  };
  for (const b of api.list(api.typeOf('rbac.authorization.k8s.io', 'ClusterRoleBinding')))
    if (bindsUser(b, user) && rulesOf(b.roleRef ?? {}).some((r) => ruleMatches(r, a))) return true;
  if (a.namespace === undefined) return false;
  for (const b of api.list(api.typeOf('rbac.authorization.k8s.io', 'RoleBinding'), a.namespace))
    if (bindsUser(b, user) && rulesOf(b.roleRef ?? {}, a.namespace).some((r) => ruleMatches(r, a)))
      return true;
  return false;
}

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const ANNOTATIONS = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const csrs = 'certificatesigningrequests';

const CLUSTER_ROLES: [string, PolicyRule[]][] = [
  ['cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]],
  [
    'system:node-bootstrapper',
    [{ apiGroups: ['certificates.k8s.io'], resources: [csrs], verbs: ['create', 'get', 'list', 'watch'] }],
  ],
  [
    'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    [{ apiGroups: ['certificates.k8s.io'], resources: [`${csrs}/nodeclient`], verbs: ['create'] }],
  ],
  [
    'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    [{ apiGroups: ['certificates.k8s.io'], resources: [`${csrs}/selfnodeclient`], verbs: ['create'] }],
  ],
  // What the controllers standing in for kube-controller-manager do with its credentials (the real policy
  // gives each controller its own role): the bootstrap signer updates kube-public/cluster-info, the token
  // cleaner deletes expired token Secrets, the CSR controller approves and signs kubelet client CSRs.
  [
    'system:kube-controller-manager',
    [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'delete'] },
      {
        apiGroups: ['certificates.k8s.io'],
        resources: [csrs, `${csrs}/approval`, `${csrs}/status`],
        verbs: ['get', 'list', 'watch', 'update'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
    ],
  ],
  [
    'system:basic-user',
    [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create'] }],
  ],
];

/** Bootstrap ClusterRoleBindings, each of the ClusterRole of its own name. */
const CLUSTER_ROLE_BINDINGS: [string, { kind: 'User' | 'Group'; name: string }][] = [
  ['cluster-admin', { kind: 'Group', name: 'system:masters' }],
  ['system:kube-controller-manager', { kind: 'User', name: 'system:kube-controller-manager' }],
];

/** The bootstrap ClusterRoles and the bindings kube-apiserver makes when missing. */
export async function ensureBootstrapPolicy(api: KubeApiServer): Promise<void> {
  const unlessMade = (e: unknown) => {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  };
  const clusterRole = api.typeOf('rbac.authorization.k8s.io', 'ClusterRole');
  for (const [name, rules] of CLUSTER_ROLES)
    if (!api.get(clusterRole, undefined, name))
      await api
        .create(clusterRole, undefined, {
          metadata: { name, labels: BOOTSTRAP_LABELS, annotations: ANNOTATIONS },
          rules,
        })
        .catch(unlessMade);
  const binding = api.typeOf('rbac.authorization.k8s.io', 'ClusterRoleBinding');
  for (const [name, subject] of CLUSTER_ROLE_BINDINGS)
    if (!api.get(binding, undefined, name))
      await api
        .create(binding, undefined, {
          metadata: { name, labels: BOOTSTRAP_LABELS, annotations: ANNOTATIONS },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
        })
        .catch(unlessMade);
}

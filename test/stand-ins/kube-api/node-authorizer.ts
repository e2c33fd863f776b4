// What Kubernetes' Node authorizer lets a kubelet (user system:node:<name> in group system:nodes) do, in the
// simple form both the k3s and the kube-apiserver stand-ins apply: read everything, write its own Node and
// Lease, pod statuses and events, create and delete pods (Kubernetes' node rules grant that for the mirror
// pods of a kubelet's static pods) and ask for its certificates.
import type { ApiUser, RequestAttributes } from './api-server.js';

export function nodeAuthorizes(user: ApiUser, a: RequestAttributes): boolean {
  if (!user.groups.includes('system:nodes')) return false;
  if (a.verb === 'get' || a.verb === 'list' || a.verb === 'watch') return true;
  const writes = ['create', 'update', 'patch'].includes(a.verb);
  const own = a.name !== undefined && user.name === `system:node:${a.name}`;
  if (a.group === '' && a.resource === 'nodes') return writes && own;
  if (a.group === 'coordination.k8s.io' && a.resource === 'leases')
    return (writes || a.verb === 'delete') && own && a.namespace === 'kube-node-lease';
  if (a.group === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests')
    return a.verb === 'create';
  if (a.group === '' && a.resource === 'pods')
    return a.subresource === 'status' ? writes : a.verb === 'create' || a.verb === 'delete';
  return a.group === '' && a.resource === 'events' && writes;
}

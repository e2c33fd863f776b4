// The scale subresource of the replicated workloads (`kubectl scale`): an autoscaling/v1 Scale read from
// and written to the object's spec.replicas.
import type { KubeObject } from './kube-object.js';

export const SCALABLE_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']);

export function scaleOf(obj: KubeObject): KubeObject {
  const m = obj.metadata;
  const labels = obj.spec?.selector?.matchLabels ?? obj.spec?.selector ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 1 },
    status: {
      replicas: obj.status?.replicas ?? 0,
      selector: Object.entries<string>(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  };
}

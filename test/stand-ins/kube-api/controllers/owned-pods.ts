// What every workload controller shares: pods made from a template and owned by their workload, template
// hashes that name revisions, pod readiness as the controllers count it, and conditions that keep their
// transition times while their status holds.
import { createHash, randomBytes } from 'node:crypto';
import type { KubeApiServer } from '../api-server.js';
import { canonicalJson, type KubeObject, kubeTime } from '../kube-object.js';

/** A short hash of a pod template, in the alphabet Kubernetes uses for pod-template-hash. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(template)).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...digest.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function ownerRef(owner: KubeObject): KubeObject {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const ownedBy = (obj: KubeObject, owner: KubeObject) =>
  ((obj.metadata.ownerReferences ?? []) as KubeObject[]).some(
    (r) => r.uid === owner.metadata.uid && r.controller,
  );

export function conditionOf(obj: KubeObject, type: string): KubeObject | undefined {
  return ((obj.status?.conditions ?? []) as KubeObject[]).find((c) => c.type === type);
}

export const isPodReady = (pod: KubeObject) =>
  !pod.metadata.deletionTimestamp && conditionOf(pod, 'Ready')?.status === 'True';

export const isPodFinished = (pod: KubeObject) => ['Succeeded', 'Failed'].includes(pod.status?.phase);

/** A condition as it stands now: its times move only when its status changes. */
export function condition(
  previous: KubeObject | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  withUpdateTime = false,
): KubeObject {
  const same = previous?.status === status && previous?.reason === reason;
  const t = kubeTime();
  const out: KubeObject = {
    type,
    status,
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : t,
    reason,
    message,
  };
  if (withUpdateTime) out.lastUpdateTime = same ? (previous?.lastUpdateTime ?? t) : t;
  return out;
}

/** Creates a pod from a workload's template in the workload's namespace. */
export async function createPod(
  api: KubeApiServer,
  owner: KubeObject,
  name: string,
  labels: Record<string, string>,
  extraSpec: KubeObject = {},
): Promise<void> {
  const template = owner.spec.template ?? {};
  const pod: KubeObject = {
    metadata: {
      name,
      labels: { ...(template.metadata?.labels ?? {}), ...labels },
      annotations: template.metadata?.annotations,
      ownerReferences: [ownerRef(owner)],
    },
    spec: { ...structuredClone(template.spec ?? {}), ...extraSpec },
  };
  if (!pod.metadata.annotations) delete pod.metadata.annotations;
  await api.create(api.typeOf('', 'Pod'), owner.metadata.namespace, pod);
}

/** Writes a workload's status when it differs from the stored one. */
export async function writeStatus(api: KubeApiServer, obj: KubeObject, status: KubeObject): Promise<void> {
  const group = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/')[0]! : '';
  const t = api.typeOf(group, obj.kind);
  await api.update(t, obj.metadata.namespace, obj.metadata.name, { ...obj, status }, { status: true });
}

/** Deletes a pod, ignoring one that is already gone. */
export async function deletePod(api: KubeApiServer, pod: KubeObject): Promise<void> {
  const t = api.typeOf('', 'Pod');
  if (api.get(t, pod.metadata.namespace, pod.metadata.name))
    await api.remove(t, pod.metadata.namespace, pod.metadata.name);
}

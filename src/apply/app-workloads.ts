import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { documentValue } from '../util/yaml-value.js';

// What "an application is up" means after its CMD: every Deployment, DaemonSet and StatefulSet its
// manifests/ declare is rolled out, read through the Kubernetes API as `kubectl rollout status` reads it.
// When one is not, the pod that holds it back and the reason its container waits say why.

export interface Workload {
  kind: 'Deployment' | 'DaemonSet' | 'StatefulSet';
  namespace: string;
  name: string;
}

const kinds = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The workloads the YAML files under `<appDir>/manifests` declare. */
export async function declaredWorkloads(appDir: string): Promise<Workload[]> {
  const out: Workload[] = [];
  for (const file of await yamlFiles(join(appDir, 'manifests'))) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (!('toJS' in doc)) continue;
      const o = documentValue(doc, file) as {
        kind?: unknown;
        metadata?: { name?: unknown; namespace?: unknown };
      } | null;
      if (!o || typeof o.kind !== 'string' || !kinds.has(o.kind) || typeof o.metadata?.name !== 'string')
        continue;
      const namespace = typeof o.metadata.namespace === 'string' ? o.metadata.namespace : 'default';
      out.push({ kind: o.kind as Workload['kind'], namespace, name: o.metadata.name });
    }
  }
  return out;
}

export interface RolloutState {
  done: boolean;
  /** Why not, when not done: the waiting pod and its reason, or what the status shows. */
  why?: string;
}

function podReason(pods: V1Pod[]): string | undefined {
  for (const p of pods) {
    const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
    if (waiting) {
      const where = p.spec?.nodeName ? ` on ${p.spec.nodeName}` : '';
      return `pod ${p.metadata?.name}${where}: ${waiting.reason ?? 'waiting'}${waiting.message ? ` (${waiting.message})` : ''}`;
    }
  }
  const pending = pods.find((p) => p.status?.phase !== 'Running' && p.status?.phase !== 'Succeeded');
  if (pending) return `pod ${pending.metadata?.name}: ${pending.status?.phase ?? 'unknown phase'}`;
  return undefined;
}

/** Reads one workload's rollout through the API. */
export async function rolloutState(kubeconfig: string, w: Workload): Promise<RolloutState> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const apps = kc.makeApiClient(AppsV1Api);
  const args = { name: w.name, namespace: w.namespace };
  const obj =
    w.kind === 'Deployment'
      ? await apps.readNamespacedDeployment(args)
      : w.kind === 'DaemonSet'
        ? await apps.readNamespacedDaemonSet(args)
        : await apps.readNamespacedStatefulSet(args);
  const s = (obj.status ?? {}) as Record<string, number | undefined>;
  const observed = (s.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0);
  let done: boolean;
  if (w.kind === 'DaemonSet') {
    const want = s.desiredNumberScheduled ?? 0;
    done = observed && (s.updatedNumberScheduled ?? 0) >= want && (s.numberAvailable ?? 0) >= want;
  } else {
    const want = (obj.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const ready = w.kind === 'Deployment' ? s.availableReplicas : s.readyReplicas;
    done = observed && (s.updatedReplicas ?? 0) >= want && (ready ?? 0) >= want;
  }
  if (done) return { done };
  const labels = (obj.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector
    ?.matchLabels;
  const selector = Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const core = kc.makeApiClient(CoreV1Api);
  const pods = selector
    ? (await core.listNamespacedPod({ namespace: w.namespace, labelSelector: selector })).items
    : [];
  return { done, why: podReason(pods) ?? 'not all replicas are updated and available yet' };
}

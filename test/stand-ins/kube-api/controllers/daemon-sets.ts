// DaemonSets: one pod on every node whose labels match the pod's nodeSelector and whose taints the pod
// tolerates (with the tolerations the DaemonSet controller adds); a pod of an older template is replaced.
import type { KubeApiServer } from '../api-server.js';
import type { KubeObject } from '../kube-object.js';
import {
  createPod,
  deletePod,
  isPodFinished,
  isPodReady,
  ownedBy,
  randomSuffix,
  templateHash,
  writeStatus,
} from './owned-pods.js';
import { nodeFits } from './pod-scheduler.js';

const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

export async function reconcileDaemonSet(
  api: KubeApiServer,
  ds: KubeObject,
  pods: KubeObject[],
  nodes: KubeObject[],
): Promise<void> {
  const podSpec = ds.spec.template?.spec ?? {};
  const tolerations = [...(podSpec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  const eligible = nodes.filter((n) => nodeFits({ ...podSpec, tolerations }, n, true));
  const hash = templateHash(ds.spec.template);
  const mine = pods.filter((p) => ownedBy(p, ds) && !p.metadata.deletionTimestamp);
  let misscheduled = 0;
  for (const p of mine) {
    const fits = eligible.some((n) => n.metadata.name === p.spec.nodeName);
    const stale = p.metadata.labels?.['controller-revision-hash'] !== hash;
    if (!fits) misscheduled++;
    if (!fits || stale || isPodFinished(p)) await deletePod(api, p);
  }
  const live = mine.filter(
    (p) =>
      eligible.some((n) => n.metadata.name === p.spec.nodeName) &&
      p.metadata.labels?.['controller-revision-hash'] === hash &&
      !isPodFinished(p),
  );
  for (const n of eligible) {
    if (mine.some((p) => p.spec.nodeName === n.metadata.name)) continue;
    await createPod(
      api,
      ds,
      `${ds.metadata.name}-${randomSuffix()}`,
      { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
      { nodeName: n.metadata.name, tolerations },
    );
  }
  const ready = live.filter(isPodReady).length;
  const status: KubeObject = {
    desiredNumberScheduled: eligible.length,
    currentNumberScheduled: eligible.filter((n) => mine.some((p) => p.spec.nodeName === n.metadata.name))
      .length,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    numberAvailable: ready,
    updatedNumberScheduled: live.length,
    observedGeneration: ds.metadata.generation,
  };
  if (eligible.length - ready > 0) status.numberUnavailable = eligible.length - ready;
  await writeStatus(api, ds, status);
}

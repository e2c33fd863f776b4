// StatefulSets: pods <name>-0 .. <name>-(n-1), made in order (each once the one before is Ready) unless
// podManagementPolicy is Parallel; a template change replaces pods from the highest ordinal down, one at a
// time; the current and update revisions meet when every pod runs the new template. No PVCs are made from
// volumeClaimTemplates.
import type { KubeApiServer } from '../api-server.js';
import type { KubeObject } from '../kube-object.js';
import { createPod, deletePod, isPodReady, ownedBy, templateHash, writeStatus } from './owned-pods.js';

const REVISION_LABEL = 'controller-revision-hash';

export async function reconcileStatefulSet(
  api: KubeApiServer,
  sts: KubeObject,
  pods: KubeObject[],
): Promise<void> {
  const name = sts.metadata.name;
  const want = sts.spec.replicas ?? 1;
  const updateRevision = `${name}-${templateHash(sts.spec.template)}`;
  const ordered = sts.spec.podManagementPolicy !== 'Parallel';
  const mine = pods.filter((p) => ownedBy(p, sts) && !p.metadata.deletionTimestamp);
  const ordinal = (p: KubeObject) => Number(/-(\d+)$/.exec(p.metadata.name)?.[1] ?? -1);
  for (const p of mine) if (ordinal(p) >= want) await deletePod(api, p);
  const inRange = mine.filter((p) => ordinal(p) < want);
  for (let i = 0; i < want; i++) {
    if (inRange.some((p) => ordinal(p) === i)) continue;
    if (ordered && !inRange.filter((p) => ordinal(p) < i).every(isPodReady)) break;
    await createPod(
      api,
      sts,
      `${name}-${i}`,
      {
        [REVISION_LABEL]: updateRevision,
        'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
        'apps.kubernetes.io/pod-index': String(i),
      },
      { hostname: `${name}-${i}`, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
    );
    if (ordered) break;
  }
  const stale = inRange.filter((p) => p.metadata.labels?.[REVISION_LABEL] !== updateRevision);
  const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  const replaceable = stale.filter((p) => ordinal(p) >= partition).sort((a, b) => ordinal(b) - ordinal(a));
  if (sts.spec.updateStrategy?.type !== 'OnDelete' && replaceable.length && inRange.every(isPodReady))
    await deletePod(api, replaceable[0]!);
  const updated = inRange.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
  const ready = inRange.filter(isPodReady).length;
  const done = updated === want && inRange.length === want;
  const currentRevision = done ? updateRevision : (sts.status?.currentRevision ?? updateRevision);
  await writeStatus(api, sts, {
    observedGeneration: sts.metadata.generation,
    replicas: inRange.length,
    readyReplicas: ready,
    currentReplicas: done ? updated : inRange.length - updated,
    updatedReplicas: updated,
    availableReplicas: ready,
    currentRevision,
    updateRevision,
    collisionCount: 0,
  });
}

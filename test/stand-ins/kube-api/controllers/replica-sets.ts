// Deployments and ReplicaSets as kube-controller-manager runs them, simplified: a Deployment owns one
// ReplicaSet per pod template (named by its pod-template-hash); the newest gets the replicas and the older
// ones scale to zero once it is available (so a rollout is one step, not surge by surge). A ReplicaSet keeps
// its number of pods.
import type { KubeApiServer } from '../api-server.js';
import type { KubeObject } from '../kube-object.js';
import {
  condition,
  conditionOf,
  createPod,
  deletePod,
  isPodFinished,
  isPodReady,
  ownedBy,
  ownerRef,
  randomSuffix,
  templateHash,
  writeStatus,
} from './owned-pods.js';

const REVISION = 'deployment.kubernetes.io/revision';

export async function reconcileReplicaSet(
  api: KubeApiServer,
  rs: KubeObject,
  pods: KubeObject[],
): Promise<void> {
  const mine = pods.filter((p) => ownedBy(p, rs) && !p.metadata.deletionTimestamp && !isPodFinished(p));
  const want = rs.spec.replicas ?? 1;
  for (let i = mine.length; i < want; i++) {
    await createPod(api, rs, `${rs.metadata.name}-${randomSuffix()}`, {});
  }
  // Extra pods go unready first, then newest first, as the ReplicaSet controller ranks them.
  const extra = [...mine]
    .sort(
      (a, b) =>
        Number(isPodReady(a)) - Number(isPodReady(b)) ||
        Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp),
    )
    .slice(0, Math.max(0, mine.length - want));
  for (const p of extra) await deletePod(api, p);
  const kept = mine.filter((p) => !extra.includes(p));
  const ready = kept.filter(isPodReady).length;
  // Pods made in this pass count from the next one, which their creation starts.
  await writeStatus(api, rs, {
    replicas: kept.length,
    fullyLabeledReplicas: kept.length,
    readyReplicas: ready,
    availableReplicas: ready,
    observedGeneration: rs.metadata.generation,
  });
}

export async function reconcileDeployment(
  api: KubeApiServer,
  deploy: KubeObject,
  replicaSets: KubeObject[],
): Promise<void> {
  const rsType = api.typeOf('apps', 'ReplicaSet');
  const ns = deploy.metadata.namespace;
  const owned = replicaSets.filter((rs) => ownedBy(rs, deploy));
  const hash = templateHash(deploy.spec.template);
  const newName = `${deploy.metadata.name}-${hash}`;
  const want = deploy.spec.replicas ?? 1;
  let current = owned.find((rs) => rs.metadata.name === newName);
  const revisions = owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0));
  if (!current) {
    const revision = String(Math.max(0, ...revisions) + 1);
    const template = structuredClone(deploy.spec.template);
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
    };
    current = await api.create(rsType, ns, {
      metadata: {
        name: newName,
        labels: { ...deploy.spec.template?.metadata?.labels, 'pod-template-hash': hash },
        annotations: {
          [REVISION]: revision,
          'deployment.kubernetes.io/desired-replicas': String(want),
          'deployment.kubernetes.io/max-replicas': String(want),
        },
        ownerReferences: [ownerRef(deploy)],
      },
      spec: {
        replicas: want,
        selector: {
          ...deploy.spec.selector,
          matchLabels: { ...deploy.spec.selector?.matchLabels, 'pod-template-hash': hash },
        },
        template,
      },
    });
  } else if (current.spec.replicas !== want) {
    current = await api.update(rsType, ns, newName, {
      ...current,
      spec: { ...current.spec, replicas: want },
    });
  }
  const revision = current.metadata.annotations?.[REVISION];
  if (revision && deploy.metadata.annotations?.[REVISION] !== revision) {
    const dt = api.typeOf('apps', 'Deployment');
    const annotations = { ...deploy.metadata.annotations, [REVISION]: revision };
    deploy = await api.update(dt, ns, deploy.metadata.name, {
      ...deploy,
      metadata: { ...deploy.metadata, annotations },
    });
  }
  const newAvailable = current.status?.availableReplicas ?? 0;
  const old = owned.filter((rs) => rs.metadata.name !== newName);
  if (newAvailable >= want) {
    for (const rs of old)
      if (rs.spec.replicas !== 0)
        await api.update(rsType, ns, rs.metadata.name, { ...rs, spec: { ...rs.spec, replicas: 0 } });
  }
  const all = [current, ...old];
  const sum = (f: string) => all.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0);
  const replicas = sum('replicas');
  const available = sum('availableReplicas');
  const updated = current.status?.replicas ?? 0;
  const complete = updated >= want && newAvailable >= want && replicas === updated;
  const status: KubeObject = {
    observedGeneration: deploy.metadata.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: sum('readyReplicas'),
    availableReplicas: available,
    conditions: [
      available >= want
        ? condition(
            conditionOf(deploy, 'Available'),
            'Available',
            'True',
            'MinimumReplicasAvailable',
            'Deployment has minimum availability.',
            true,
          )
        : condition(
            conditionOf(deploy, 'Available'),
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
            true,
          ),
      complete
        ? condition(
            conditionOf(deploy, 'Progressing'),
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${newName}" has successfully progressed.`,
            true,
          )
        : condition(
            conditionOf(deploy, 'Progressing'),
            'Progressing',
            'True',
            'ReplicaSetUpdated',
            `ReplicaSet "${newName}" is progressing.`,
            true,
          ),
    ],
  };
  if (replicas - available > 0) status.unavailableReplicas = replicas - available;
  for (const k of ['readyReplicas', 'availableReplicas', 'updatedReplicas', 'replicas'])
    if (status[k] === 0) delete status[k];
  await writeStatus(api, deploy, status);
}

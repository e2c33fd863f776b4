// Scheduling and the pod lifecycle kwok gives pods: a pending pod is bound to the fitting node with the
// fewest pods; a bound pod starts running and becomes Ready at once (no container runs), gets an IP from
// its node's pod CIDR, and a Job's pod completes a second after it started. A stand-in whose nodes run a
// kubelet (which pulls the images first) leaves the start to it and uses the statuses made here.
import type { KubeApiServer } from '../api-server.js';
import { type KubeObject, kubeTime } from '../kube-object.js';
import { condition, conditionOf, isPodFinished } from './owned-pods.js';

const JOB_POD_RUN_MS = 1000;

function tolerates(tolerations: KubeObject[], taint: KubeObject): boolean {
  return tolerations.some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.operator === 'Exists'
        ? !t.key || t.key === taint.key
        : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );
}

function nodeReady(node: KubeObject): boolean {
  return conditionOf(node, 'Ready')?.status === 'True';
}

/** Whether a pod spec may run on a node: nodeSelector, taints, and (unless a DaemonSet asks) readiness. */
export function nodeFits(spec: KubeObject, node: KubeObject, daemon = false): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const taints: KubeObject[] = [...(node.spec?.taints ?? [])];
  if (node.spec?.unschedulable)
    taints.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
  if (!daemon && !nodeReady(node)) return false;
  return taints
    .filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    .every((t) => tolerates(spec.tolerations ?? [], t));
}

function podIp(node: KubeObject, pods: KubeObject[]): string | undefined {
  const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(node.spec?.podCIDR ?? '');
  if (!m) return undefined;
  const used = new Set(pods.map((p) => p.status?.podIP));
  for (let i = 2; i < 255; i++) if (!used.has(`${m[1]}.${i}`)) return `${m[1]}.${i}`;
  return undefined;
}

function internalIp(node: KubeObject): string | undefined {
  return (node.status?.addresses ?? []).find((a: KubeObject) => a.type === 'InternalIP')?.address;
}

async function bind(api: KubeApiServer, pod: KubeObject, nodes: KubeObject[], pods: KubeObject[]) {
  const podType = api.typeOf('', 'Pod');
  const fitting = nodes.filter((n) => nodeFits(pod.spec, n));
  const load = (n: KubeObject) => pods.filter((p) => p.spec.nodeName === n.metadata.name).length;
  const node = fitting.sort((a, b) => load(a) - load(b) || (a.metadata.name < b.metadata.name ? -1 : 1))[0];
  const previous = conditionOf(pod, 'PodScheduled');
  if (!node) {
    const status = {
      ...pod.status,
      conditions: [
        condition(
          previous,
          'PodScheduled',
          'False',
          'Unschedulable',
          `0/${nodes.length} nodes are available: no node matches the pod's node selector and tolerations.`,
        ),
      ],
    };
    return api.update(
      podType,
      pod.metadata.namespace,
      pod.metadata.name,
      { ...pod, status },
      { status: true },
    );
  }
  return api.update(podType, pod.metadata.namespace, pod.metadata.name, {
    ...pod,
    spec: { ...pod.spec, nodeName: node.metadata.name },
  });
}

function containerStatuses(
  pod: KubeObject,
  state: KubeObject,
  ready: boolean,
  imageIds: Record<string, string> = {},
): KubeObject[] {
  return ((pod.spec.containers ?? []) as KubeObject[]).map((c, i) => {
    const prior = (pod.status?.containerStatuses ?? []).find((s: KubeObject) => s.name === c.name);
    return {
      name: c.name,
      image: c.image,
      imageID: imageIds[c.name] ?? prior?.imageID ?? '',
      containerID:
        prior?.containerID ??
        `containerd://${pod.metadata.uid.replace(/-/g, '')}${String(i).padStart(32, '0')}`,
      ready,
      started: ready,
      restartCount: 0,
      state,
      lastState: {},
    };
  });
}

/** A started pod's status; `imageIds` by container name, as the kubelet that pulled them reports them. */
export function runningStatus(
  pod: KubeObject,
  node: KubeObject,
  pods: KubeObject[],
  imageIds: Record<string, string> = {},
): KubeObject {
  const t = kubeTime();
  const ip = pod.spec.hostNetwork ? internalIp(node) : podIp(node, pods);
  const cond = (type: string) => condition(conditionOf(pod, type), type, 'True', '', '');
  const conditions = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((c) => {
    const { reason: _r, message: _m, ...rest } = cond(c);
    return rest;
  });
  return {
    phase: 'Running',
    conditions,
    hostIP: internalIp(node),
    hostIPs: internalIp(node) ? [{ ip: internalIp(node) }] : undefined,
    podIP: ip,
    podIPs: ip ? [{ ip }] : undefined,
    startTime: pod.status?.startTime ?? t,
    containerStatuses: containerStatuses(pod, { running: { startedAt: t } }, true, imageIds),
    qosClass: pod.status?.qosClass ?? 'BestEffort',
  };
}

/** A pod whose image could not be pulled: Pending, the container waiting in ErrImagePull with the reason. */
export function pullFailedStatus(pod: KubeObject, container: string, message: string): KubeObject {
  const statuses = containerStatuses(pod, {}, false).map((s) =>
    s.name === container
      ? {
          ...s,
          containerID: undefined,
          started: false,
          state: { waiting: { reason: 'ErrImagePull', message } },
        }
      : { ...s, containerID: undefined, started: false, state: { waiting: { reason: 'ContainerCreating' } } },
  );
  return {
    ...pod.status,
    phase: 'Pending',
    conditions: [
      condition(conditionOf(pod, 'PodScheduled'), 'PodScheduled', 'True', '', ''),
      condition(
        conditionOf(pod, 'Ready'),
        'Ready',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${container}]`,
      ),
    ],
    startTime: pod.status?.startTime ?? kubeTime(),
    containerStatuses: statuses,
  };
}

function completedStatus(pod: KubeObject): KubeObject {
  const t = kubeTime();
  const startedAt = pod.status?.startTime ?? t;
  const notReady = (type: string) => condition(conditionOf(pod, type), type, 'False', 'PodCompleted', '');
  return {
    ...pod.status,
    phase: 'Succeeded',
    conditions: [
      condition(conditionOf(pod, 'Initialized'), 'Initialized', 'True', 'PodCompleted', ''),
      notReady('Ready'),
      notReady('ContainersReady'),
      condition(conditionOf(pod, 'PodScheduled'), 'PodScheduled', 'True', '', ''),
    ],
    containerStatuses: containerStatuses(
      pod,
      { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: t } },
      false,
    ),
  };
}

const ownerKind = (pod: KubeObject) =>
  (pod.metadata.ownerReferences ?? []).find((r: KubeObject) => r.controller)?.kind;

/** Moves one pod a step: bind it, start it (unless a kubelet does), or (for a Job's pod) complete it. */
export async function reconcilePod(
  api: KubeApiServer,
  pod: KubeObject,
  nodes: KubeObject[],
  pods: KubeObject[],
  startPods = true,
) {
  if (pod.metadata.deletionTimestamp || isPodFinished(pod)) return;
  if (!pod.spec.nodeName) {
    await bind(api, pod, nodes, pods);
    return;
  }
  const node = nodes.find((n) => n.metadata.name === pod.spec.nodeName);
  if (!node) return;
  const podType = api.typeOf('', 'Pod');
  const write = (status: KubeObject) =>
    api.update(podType, pod.metadata.namespace, pod.metadata.name, { ...pod, status }, { status: true });
  if (pod.status?.phase !== 'Running') {
    if (startPods && nodeReady(node)) await write(runningStatus(pod, node, pods));
    return;
  }
  const started = Date.parse(pod.status.startTime ?? '');
  if (ownerKind(pod) === 'Job' && Date.now() - started >= JOB_POD_RUN_MS) await write(completedStatus(pod));
}

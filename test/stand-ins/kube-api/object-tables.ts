// The server-side Tables `kubectl get` prints: the columns kube-apiserver's printers give the common kinds,
// a CRD's additionalPrinterColumns, and NAME/AGE for everything else.
import { type KubeObject, valueAt } from './kube-object.js';
import type { ResourceType } from './resource-types.js';

/** apimachinery's duration.HumanDuration, which the server-side printer uses for AGE. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

type Cell = (o: KubeObject, now: number) => string | number;
type Column = [name: string, priority: number, cell: Cell];

const age: Cell = (o, now) => humanDuration(now - Date.parse(o.metadata.creationTimestamp));
const num =
  (path: string): Cell =>
  (o) =>
    Number(valueAt(o, path) ?? 0);
const none = (v: unknown) => (v === undefined || v === '' ? '<none>' : String(v));
const conditionOf = (o: KubeObject, type: string) =>
  ((o.status?.conditions ?? []) as KubeObject[]).find((c) => c.type === type);

function nodeStatusText(node: KubeObject): string {
  const ready = conditionOf(node, 'Ready');
  const parts = ready ? [ready.status === 'True' ? 'Ready' : 'NotReady'] : ['Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries<string>(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 24) roles.add(k.slice(24));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function addressOf(node: KubeObject, type: string): string {
  const a = (node.status?.addresses ?? []).find((x: KubeObject) => x.type === type);
  return a ? a.address : '<none>';
}

/** The pod STATUS column: a waiting or terminated container's reason wins over the phase. */
export function podStatusText(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const c of (pod.status?.containerStatuses ?? []) as KubeObject[]) {
    if (c.state?.waiting?.reason) return c.state.waiting.reason;
    if (c.state?.terminated?.reason && pod.status?.phase !== 'Succeeded') return c.state.terminated.reason;
  }
  if (pod.status?.phase === 'Succeeded') return 'Completed';
  return pod.status?.reason ?? pod.status?.phase ?? 'Pending';
}

const containers = (o: KubeObject) => (o.spec?.template?.spec?.containers ?? []) as KubeObject[];
const selectorText = (s: KubeObject | undefined) =>
  none(
    Object.entries<string>(s?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );

function servicePorts(svc: KubeObject): string {
  const ports = (svc.spec?.ports ?? []) as KubeObject[];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

const columns: Record<string, Column[]> = {
  Node: [
    ['Status', 0, nodeStatusText],
    ['Roles', 0, nodeRoles],
    ['Age', 0, age],
    ['Version', 0, (n) => n.status?.nodeInfo?.kubeletVersion ?? ''],
    ['Internal-IP', 1, (n) => addressOf(n, 'InternalIP')],
    ['External-IP', 1, (n) => addressOf(n, 'ExternalIP')],
    ['OS-Image', 1, (n) => n.status?.nodeInfo?.osImage ?? '<unknown>'],
    ['Kernel-Version', 1, (n) => n.status?.nodeInfo?.kernelVersion ?? '<unknown>'],
    ['Container-Runtime', 1, (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>'],
  ],
  Pod: [
    [
      'Ready',
      0,
      (p) => {
        const cs = (p.status?.containerStatuses ?? []) as KubeObject[];
        return `${cs.filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length}`;
      },
    ],
    ['Status', 0, podStatusText],
    [
      'Restarts',
      0,
      (p) =>
        ((p.status?.containerStatuses ?? []) as KubeObject[]).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    ],
    ['Age', 0, age],
    ['IP', 1, (p) => none(p.status?.podIP)],
    ['Node', 1, (p) => none(p.spec?.nodeName)],
    ['Nominated Node', 1, (p) => none(p.status?.nominatedNodeName)],
    ['Readiness Gates', 1, () => '<none>'],
  ],
  Deployment: [
    ['Ready', 0, (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`],
    ['Up-to-date', 0, num('status.updatedReplicas')],
    ['Available', 0, num('status.availableReplicas')],
    ['Age', 0, age],
    [
      'Containers',
      1,
      (d) =>
        containers(d)
          .map((c) => c.name)
          .join(','),
    ],
    [
      'Images',
      1,
      (d) =>
        containers(d)
          .map((c) => c.image)
          .join(','),
    ],
    ['Selector', 1, (d) => selectorText(d.spec?.selector)],
  ],
  ReplicaSet: [
    ['Desired', 0, (r) => r.spec?.replicas ?? 1],
    ['Current', 0, num('status.replicas')],
    ['Ready', 0, num('status.readyReplicas')],
    ['Age', 0, age],
    [
      'Containers',
      1,
      (r) =>
        containers(r)
          .map((c) => c.name)
          .join(','),
    ],
    [
      'Images',
      1,
      (r) =>
        containers(r)
          .map((c) => c.image)
          .join(','),
    ],
    ['Selector', 1, (r) => selectorText(r.spec?.selector)],
  ],
  DaemonSet: [
    ['Desired', 0, num('status.desiredNumberScheduled')],
    ['Current', 0, num('status.currentNumberScheduled')],
    ['Ready', 0, num('status.numberReady')],
    ['Up-to-date', 0, num('status.updatedNumberScheduled')],
    ['Available', 0, num('status.numberAvailable')],
    [
      'Node Selector',
      0,
      (d) =>
        none(
          Object.entries<string>(d.spec?.template?.spec?.nodeSelector ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        ),
    ],
    ['Age', 0, age],
  ],
  StatefulSet: [
    ['Ready', 0, (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`],
    ['Age', 0, age],
  ],
  Job: [
    [
      'Status',
      0,
      (j) =>
        conditionOf(j, 'Complete')?.status === 'True'
          ? 'Complete'
          : conditionOf(j, 'Failed')?.status === 'True'
            ? 'Failed'
            : 'Running',
    ],
    ['Completions', 0, (j) => `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`],
    [
      'Duration',
      0,
      (j, now) =>
        j.status?.startTime
          ? humanDuration(
              Date.parse(j.status.completionTime ?? new Date(now).toISOString()) -
                Date.parse(j.status.startTime),
            )
          : '',
    ],
    ['Age', 0, age],
  ],
  Service: [
    ['Type', 0, (s) => s.spec?.type ?? 'ClusterIP'],
    ['Cluster-IP', 0, (s) => none(s.spec?.clusterIP)],
    ['External-IP', 0, (s) => none((s.spec?.externalIPs ?? []).join(','))],
    ['Port(s)', 0, servicePorts],
    ['Age', 0, age],
    [
      'Selector',
      1,
      (s) =>
        none(
          Object.entries<string>(s.spec?.selector ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        ),
    ],
  ],
  Namespace: [
    ['Status', 0, (n) => n.status?.phase ?? 'Active'],
    ['Age', 0, age],
  ],
  ConfigMap: [
    ['Data', 0, (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length],
    ['Age', 0, age],
  ],
  Secret: [
    ['Type', 0, (s) => s.type ?? 'Opaque'],
    ['Data', 0, (s) => Object.keys(s.data ?? {}).length],
    ['Age', 0, age],
  ],
  CustomResourceDefinition: [['Created At', 0, (c) => c.metadata.creationTimestamp]],
};

/** A JSONPath of a printer column, in the `.a.b` and `.a[?(@.k=="v")].b` forms CRDs use. */
function jsonPathValue(o: KubeObject, path: string): unknown {
  let cur: unknown[] = [o];
  const steps = path.replace(/^\./, '').match(/[^.[\]]+|\[\?\(@\.[^)]*\)\]|\[\d+\]/g) ?? [];
  for (const step of steps) {
    const filter = /^\[\?\(@\.(\w+)\s*==\s*["']([^"']*)["']\)\]$/.exec(step);
    const index = /^\[(\d+)\]$/.exec(step);
    cur = cur.flatMap((c) => {
      if (filter)
        return Array.isArray(c) ? c.filter((x) => (x as KubeObject)?.[filter[1]!] === filter[2]) : [];
      if (index) return Array.isArray(c) ? [c[Number(index[1])]] : [];
      const v = (c as KubeObject | undefined)?.[step];
      return v === undefined ? [] : [v];
    });
  }
  return cur.length === 0 ? undefined : cur.length === 1 ? cur[0] : cur.join(',');
}

function columnsOf(type: ResourceType): Column[] {
  if (type.printerColumns?.length) {
    return type.printerColumns.map((c) => [
      c.name,
      c.priority ?? 0,
      (o: KubeObject, now: number) => {
        const v = jsonPathValue(o, c.jsonPath);
        if (v === undefined) return '';
        if (c.type === 'date') return humanDuration(now - Date.parse(String(v)));
        return typeof v === 'object' ? JSON.stringify(v) : (v as string);
      },
    ]);
  }
  return columns[type.kind] ?? [['Age', 0, age]];
}

export function objectTable(
  type: ResourceType,
  items: KubeObject[],
  resourceVersion: string,
  includeObject: string,
  now: number,
): KubeObject {
  const cols: Column[] = [['Name', 0, (o) => o.metadata.name], ...columnsOf(type)];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map(([name, priority], i) => ({
      name,
      type: 'string',
      format: i === 0 ? 'name' : '',
      description: '',
      priority,
    })),
    rows: items.map((o) => {
      const row: KubeObject = { cells: cols.map(([, , cell]) => cell(o, now)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None')
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      return row;
    }),
  };
}

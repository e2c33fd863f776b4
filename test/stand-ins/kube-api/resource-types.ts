// Which kinds the API serves: the built-in groups of Kubernetes 1.28 (enough for kubectl to map every kind a
// manifest names) and those CustomResourceDefinitions add at run time, with the storage key of each object.
import type { KubeObject } from './kube-object.js';

export interface ResourceType {
  group: string;
  /** Served versions; the first is the preferred (and, for built-ins, the only) one. */
  versions: string[];
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  status: boolean;
  /** Whether metadata.generation counts spec changes (workloads and custom objects do; ConfigMaps do not). */
  generation: boolean;
  /** Custom resources take merge and JSON patches only, as the real API server serves them. */
  custom: boolean;
  /** CRD additionalPrinterColumns, for the Table kubectl prints. */
  printerColumns?: KubeObject[];
}

const ALL = ['all'];

// [group, version, resource, kind, namespaced, shortNames, status subresource, generation, categories]
type Row = [string, string, string, string, boolean, string[], boolean, boolean, string[]?];

const builtins: Row[] = [
  ['', 'v1', 'namespaces', 'Namespace', false, ['ns'], true, false],
  ['', 'v1', 'nodes', 'Node', false, ['no'], true, false],
  ['', 'v1', 'pods', 'Pod', true, ['po'], true, false, ALL],
  ['', 'v1', 'services', 'Service', true, ['svc'], true, false, ALL],
  ['', 'v1', 'endpoints', 'Endpoints', true, ['ep'], false, false],
  ['', 'v1', 'configmaps', 'ConfigMap', true, ['cm'], false, false],
  ['', 'v1', 'secrets', 'Secret', true, [], false, false],
  ['', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa'], false, false],
  ['', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, ['pvc'], true, false],
  ['', 'v1', 'persistentvolumes', 'PersistentVolume', false, ['pv'], true, false],
  ['', 'v1', 'events', 'Event', true, ['ev'], false, false],
  ['', 'v1', 'limitranges', 'LimitRange', true, ['limits'], false, false],
  ['', 'v1', 'resourcequotas', 'ResourceQuota', true, ['quota'], true, false],
  ['', 'v1', 'replicationcontrollers', 'ReplicationController', true, ['rc'], true, true, ALL],
  ['', 'v1', 'podtemplates', 'PodTemplate', true, [], false, false],
  ['apps', 'v1', 'deployments', 'Deployment', true, ['deploy'], true, true, ALL],
  ['apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds'], true, true, ALL],
  ['apps', 'v1', 'statefulsets', 'StatefulSet', true, ['sts'], true, true, ALL],
  ['apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs'], true, true, ALL],
  ['apps', 'v1', 'controllerrevisions', 'ControllerRevision', true, [], false, false],
  ['batch', 'v1', 'jobs', 'Job', true, [], true, true, ALL],
  ['batch', 'v1', 'cronjobs', 'CronJob', true, ['cj'], true, true, ALL],
  [
    'autoscaling',
    'v2',
    'horizontalpodautoscalers',
    'HorizontalPodAutoscaler',
    true,
    ['hpa'],
    true,
    true,
    ALL,
  ],
  [
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
    ['crd', 'crds'],
    true,
    true,
  ],
  ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false, [], false, false],
  ['coordination.k8s.io', 'v1', 'leases', 'Lease', true, [], false, false],
  ['discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true, [], false, false],
  ['networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, ['ing'], true, true],
  ['networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false, [], false, false],
  ['networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, ['netpol'], false, true],
  ['storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, ['sc'], false, false],
  ['storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', false, [], false, false],
  ['storage.k8s.io', 'v1', 'csinodes', 'CSINode', false, [], false, false],
  ['storage.k8s.io', 'v1', 'volumeattachments', 'VolumeAttachment', false, [], true, false],
  ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], true, true],
  ['scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false, ['pc'], false, false],
  ['node.k8s.io', 'v1', 'runtimeclasses', 'RuntimeClass', false, [], false, false],
  [
    'certificates.k8s.io',
    'v1',
    'certificatesigningrequests',
    'CertificateSigningRequest',
    false,
    ['csr'],
    true,
    false,
  ],
  [
    'admissionregistration.k8s.io',
    'v1',
    'mutatingwebhookconfigurations',
    'MutatingWebhookConfiguration',
    false,
    [],
    false,
    false,
  ],
  [
    'admissionregistration.k8s.io',
    'v1',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
    [],
    false,
    false,
  ],
  ['apiregistration.k8s.io', 'v1', 'apiservices', 'APIService', false, [], true, false],
];

function fromRow([
  group,
  version,
  resource,
  kind,
  namespaced,
  shortNames,
  status,
  generation,
  categories,
]: Row): ResourceType {
  return {
    group,
    versions: [version],
    resource,
    kind,
    listKind: `${kind}List`,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames,
    categories: categories ?? [],
    status,
    generation,
    custom: false,
  };
}

export const groupVersion = (group: string, version: string) => (group ? `${group}/${version}` : version);

/** Where one object is stored: `k/<group>/<resource>/[<namespace>/]<name>`. */
export function storageKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${storagePrefix(type, namespace)}${name}`;
}

/** The key prefix of a type's objects: all of them, or those of one namespace. */
export function storagePrefix(type: ResourceType, namespace?: string): string {
  const base = `k/${type.group || 'core'}/${type.resource}/`;
  return type.namespaced && namespace ? `${base}${namespace}/` : base;
}

/** A CRD's type, when the CRD is well-formed enough to serve; a CRD names its group and kinds. */
export function typeOfCrd(crd: KubeObject): ResourceType | undefined {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const versions: KubeObject[] = (spec.versions ?? []).filter((v: KubeObject) => v.served !== false);
  if (!spec.group || !names.plural || !names.kind || versions.length === 0) return undefined;
  // The storage version is preferred, as kube-apiserver orders a CRD's versions by priority.
  versions.sort((a, b) => Number(Boolean(b.storage)) - Number(Boolean(a.storage)));
  const first = versions[0]!;
  return {
    group: spec.group,
    versions: versions.map((v) => v.name),
    resource: names.plural,
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    singular: names.singular ?? names.kind.toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    status: Boolean(first.subresources?.status),
    generation: true,
    custom: true,
    printerColumns: first.additionalPrinterColumns,
  };
}

/** The built-in types plus those of the CRDs given (which the API re-reads whenever a CRD changes). */
export class TypeRegistry {
  private types: ResourceType[] = builtins.map(fromRow);

  constructor() {
    this.setCrds([]);
  }

  setCrds(crds: KubeObject[]): void {
    const custom = crds.flatMap((c) => {
      if (c.metadata?.deletionTimestamp) return [];
      const t = typeOfCrd(c);
      return t ? [t] : [];
    });
    this.types = [...builtins.map(fromRow), ...custom];
  }

  all(): ResourceType[] {
    return this.types;
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find(
      (t) => t.group === group && t.resource === resource && t.versions.includes(version),
    );
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.kind === kind);
  }

  /** Groups with their versions, built-in groups first, as /apis lists them. */
  groups(): Array<{ name: string; versions: string[] }> {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      const versions = out.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      out.set(t.group, versions);
    }
    return [...out].map(([name, versions]) => ({ name, versions }));
  }
}

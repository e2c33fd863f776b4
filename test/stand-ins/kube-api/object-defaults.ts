// What kube-apiserver fills in on write for the kinds the workload controller and kubectl read back: the
// defaulted fields of workloads, pods and services, a Service's cluster IP, Secret stringData, a Job's
// selector, and a CRD's Established condition (which kube-apiserver's CRD controller sets at once here).
import { type KubeObject, kubeTime } from './kube-object.js';
import type { ResourceType } from './resource-types.js';

export class DefaultingError extends Error {}

function defaultContainers(list: KubeObject[] | undefined): void {
  for (const c of list ?? []) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (!c.imagePullPolicy) {
      const tag = /:([\w.-]+)$/.exec(String(c.image ?? '').replace(/@.*$/, ''))?.[1];
      c.imagePullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
    }
    for (const p of (c.ports ?? []) as KubeObject[]) p.protocol ??= 'TCP';
  }
}

export function defaultPodSpec(spec: KubeObject | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function rollingUpdate(obj: KubeObject, field: string, value: KubeObject): void {
  obj.spec[field] ??= { type: 'RollingUpdate', rollingUpdate: value };
  if (obj.spec[field].type === 'RollingUpdate') obj.spec[field].rollingUpdate ??= value;
}

/** Which of the service CIDR's addresses are taken is for the caller to say. */
export interface DefaultingContext {
  allocateServiceIp(): string;
}

const WITH_SPEC = new Set([
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'Service',
  'Namespace',
  'CustomResourceDefinition',
]);

export function applyDefaults(
  type: ResourceType,
  obj: KubeObject,
  current: KubeObject | undefined,
  ctx: DefaultingContext,
): void {
  if (type.custom) return;
  if (WITH_SPEC.has(type.kind)) obj.spec ??= {};
  const spec = obj.spec;
  switch (type.kind) {
    case 'Pod':
      defaultPodSpec(spec);
      spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
      spec.serviceAccount ??= spec.serviceAccountName;
      spec.priority ??= 0;
      spec.enableServiceLinks ??= true;
      if (!current) obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    case 'Deployment':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      rollingUpdate(obj, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
      defaultPodSpec(spec.template?.spec);
      break;
    case 'ReplicaSet':
      spec.replicas ??= 1;
      defaultPodSpec(spec.template?.spec);
      break;
    case 'StatefulSet':
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      rollingUpdate(obj, 'updateStrategy', { partition: 0 });
      defaultPodSpec(spec.template?.spec);
      break;
    case 'DaemonSet':
      spec.revisionHistoryLimit ??= 10;
      rollingUpdate(obj, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
      defaultPodSpec(spec.template?.spec);
      break;
    case 'Job': {
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      const uid = obj.metadata.uid;
      if (!spec.manualSelector && uid) {
        spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        spec.template.metadata ??= {};
        const labels = spec.template.metadata.labels ?? {};
        spec.template.metadata.labels = {
          ...labels,
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': obj.metadata.name,
          'controller-uid': uid,
          'job-name': obj.metadata.name,
        };
      }
      defaultPodSpec(spec.template?.spec);
      if (spec.template?.spec && spec.template.spec.restartPolicy === 'Always')
        throw new DefaultingError(
          `Job.batch "${obj.metadata.name}" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
        );
      break;
    }
    case 'Service': {
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const kept = current?.spec?.clusterIP;
      if (spec.clusterIP === undefined || spec.clusterIP === '')
        spec.clusterIP = kept ?? ctx.allocateServiceIp();
      if (spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
      for (const p of (spec.ports ?? []) as KubeObject[]) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      obj.status ??= { loadBalancer: {} };
      break;
    }
    case 'Namespace':
      spec.finalizers ??= ['kubernetes'];
      obj.status = { phase: obj.metadata.deletionTimestamp ? 'Terminating' : 'Active' };
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      break;
    case 'Secret':
      obj.type ??= 'Opaque';
      if (obj.stringData) {
        obj.data ??= {};
        for (const [k, v] of Object.entries<string>(obj.stringData))
          obj.data[k] = Buffer.from(v).toString('base64');
        delete obj.stringData;
      }
      break;
    case 'CustomResourceDefinition': {
      const t = kubeTime();
      const cond = (type: string, reason: string, message: string) => ({
        type,
        status: 'True',
        lastTransitionTime: t,
        reason,
        message,
      });
      obj.status = {
        acceptedNames: spec.names ?? {},
        storedVersions: ((spec.versions ?? []) as KubeObject[]).filter((v) => v.storage).map((v) => v.name),
        conditions: current?.status?.conditions ?? [
          cond('NamesAccepted', 'NoConflicts', 'no conflicts found'),
          cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
        ],
      };
      break;
    }
  }
}

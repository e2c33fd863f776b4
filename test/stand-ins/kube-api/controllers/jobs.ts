// Jobs: pods up to `parallelism` at a time until `completions` of them have succeeded, then the Complete
// condition and completionTime. Pods here always succeed (see pod-scheduler.ts), so backoffLimit and the
// Failed condition never come into play.
import type { KubeApiServer } from '../api-server.js';
import { type KubeObject, kubeTime } from '../kube-object.js';
import {
  condition,
  conditionOf,
  createPod,
  isPodFinished,
  isPodReady,
  ownedBy,
  randomSuffix,
  writeStatus,
} from './owned-pods.js';

export async function reconcileJob(api: KubeApiServer, job: KubeObject, pods: KubeObject[]): Promise<void> {
  if (conditionOf(job, 'Complete')?.status === 'True') return;
  const mine = pods.filter((p) => ownedBy(p, job));
  const succeeded = mine.filter((p) => p.status?.phase === 'Succeeded').length;
  const active = mine.filter((p) => !isPodFinished(p) && !p.metadata.deletionTimestamp);
  const completions = job.spec.completions ?? 1;
  const parallelism = job.spec.parallelism ?? 1;
  const status: KubeObject = {
    ...job.status,
    startTime: job.status?.startTime ?? kubeTime(),
    active: active.length,
    ready: active.filter(isPodReady).length,
    succeeded,
    failed: 0,
    terminating: 0,
    uncountedTerminatedPods: {},
  };
  if (!job.spec.suspend && succeeded < completions) {
    const room = Math.min(parallelism - active.length, completions - succeeded - active.length);
    for (let i = 0; i < room; i++) await createPod(api, job, `${job.metadata.name}-${randomSuffix()}`, {});
  }
  if (succeeded >= completions) {
    status.completionTime = kubeTime();
    status.active = 0;
    status.conditions = [condition(undefined, 'Complete', 'True', '', '')];
    delete status.conditions[0].reason;
    delete status.conditions[0].message;
    status.conditions[0].lastProbeTime = status.completionTime;
  }
  for (const k of ['active', 'succeeded', 'failed']) if (status[k] === 0) delete status[k];
  await writeStatus(api, job, status);
}

import { readFile } from 'node:fs/promises';
import { errorMessage, TimeoutError } from '../../util/errors.js';
import { declaredWorkloads, rolloutState, type Workload } from '../app-workloads.js';
import type { CheckPhase } from '../phase.js';

// After the applications' CMDs: waits, bounded by --app-timeout, until every workload their manifests/
// declare is rolled out, so that `berth run` returns with the apps up, or names the app, the workload and
// the pod holding it back with its reason (an image its registry/ lacks shows as ErrImagePull).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const kindWord = (w: Workload) => `${w.kind.toLowerCase()} ${w.namespace}/${w.name}`;

export const waitApplications: CheckPhase = {
  title: 'wait for the applications to roll out',
  needed: (c) => c.images.apps.some((a) => a.command),
  summary: (c) =>
    `wait for the workloads under manifests/ of ${c.images.apps
      .filter((a) => a.command)
      .map((a) => a.image.ref)
      .join(', ')}`,
  async check(c, engine) {
    const waits: Array<{ app: string; workload: Workload }> = [];
    for (const app of c.images.apps.filter((a) => a.command))
      for (const workload of await declaredWorkloads(app.dir)) waits.push({ app: app.image.ref, workload });
    if (waits.length === 0) return;
    const kubeconfig = await readFile(c.paths.kubeconfig, 'utf8');
    const timeoutMs = (engine.options.appTimeout ?? 300) * 1000;
    const deadline = Date.now() + timeoutMs;
    let left = waits;
    const why = new Map<Workload, string>();
    for (;;) {
      engine.options.signal?.throwIfAborted();
      const states = await Promise.all(
        left.map(async (w) => {
          try {
            const s = await rolloutState(kubeconfig, w.workload);
            if (s.why) why.set(w.workload, s.why);
            return s.done;
          } catch (err) {
            why.set(w.workload, errorMessage(err));
            return false;
          }
        }),
      );
      left = left.filter((_, i) => !states[i]);
      if (left.length === 0) return;
      if (Date.now() >= deadline) break;
      await sleep(2000);
    }
    const first = left[0] as (typeof left)[0];
    const more = left.length > 1 ? ` (and ${left.length - 1} more workload(s))` : '';
    throw new TimeoutError(
      `application ${first.app}: ${kindWord(first.workload)} not rolled out after ${timeoutMs / 1000} s: ${why.get(first.workload) ?? 'no status yet'}${more}; see kubectl describe ${first.workload.kind.toLowerCase()} -n ${first.workload.namespace} ${first.workload.name}`,
    );
  },
};

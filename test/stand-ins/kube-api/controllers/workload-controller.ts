// The controller-manager of the stand-in API: on every change (and each tick, for what time moves) it runs
// one pass over Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs and Pods, each step writing only
// what differs, so passes settle. Only the server `isLeader` names runs it, as one controller-manager holds
// the leader lease in a cluster. Namespaces get their `default` ServiceAccount here too.
import { ApiError, type KubeApiServer } from '../api-server.js';
import type { KubeObject } from '../kube-object.js';
import { reconcileDaemonSet } from './daemon-sets.js';
import { reconcileJob } from './jobs.js';
import { reconcilePod } from './pod-scheduler.js';
import { reconcileDeployment, reconcileReplicaSet } from './replica-sets.js';
import { reconcileStatefulSet } from './stateful-sets.js';

const TICK_MS = 500;
const SETTLE_MS = 20;

export interface ControllerOptions {
  isLeader?: () => boolean;
  /** False when the nodes' kubelets start pods (after pulling their images); the controller only binds them. */
  startPods?: boolean;
  onError?: (message: string) => void;
}

export class WorkloadController {
  private timer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private readonly onChange = () => this.schedule();

  constructor(
    private readonly api: KubeApiServer,
    private readonly opts: ControllerOptions = {},
  ) {}

  start(): void {
    this.api.storage.on('change', this.onChange);
    this.ticker = setInterval(() => this.schedule(), TICK_MS);
    this.ticker.unref();
    this.schedule();
  }

  stop(): void {
    this.api.storage.off('change', this.onChange);
    if (this.timer) clearTimeout(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.pass();
    }, SETTLE_MS);
  }

  private async pass(): Promise<void> {
    if (this.opts.isLeader && !this.opts.isLeader()) return;
    this.running = true;
    this.again = false;
    try {
      await this.reconcileAll();
    } catch (e) {
      // A write that lost a race (409) or hit an object deleted meanwhile is redone by the next pass.
      if (!(e instanceof ApiError && (e.code === 409 || e.code === 404)))
        this.opts.onError?.((e as Error).message);
      this.again = true;
    } finally {
      this.running = false;
      if (this.again) this.schedule();
    }
  }

  private list(group: string, kind: string): KubeObject[] {
    return this.api.list(this.api.typeOf(group, kind));
  }

  private async reconcileAll(): Promise<void> {
    const api = this.api;
    const nodeType = api.typeOf('', 'Node');
    const nodes = this.list('', 'Node').map((n) => api.view(nodeType, n));
    const saType = api.typeOf('', 'ServiceAccount');
    for (const ns of this.list('', 'Namespace')) {
      if (!ns.metadata.deletionTimestamp && !api.get(saType, ns.metadata.name, 'default'))
        await api.create(saType, ns.metadata.name, { metadata: { name: 'default' } });
    }
    for (const d of this.list('apps', 'Deployment'))
      await reconcileDeployment(api, d, this.list('apps', 'ReplicaSet'));
    const pods = () => this.list('', 'Pod');
    for (const rs of this.list('apps', 'ReplicaSet')) await reconcileReplicaSet(api, rs, pods());
    for (const ds of this.list('apps', 'DaemonSet')) await reconcileDaemonSet(api, ds, pods(), nodes);
    for (const sts of this.list('apps', 'StatefulSet')) await reconcileStatefulSet(api, sts, pods());
    for (const job of this.list('batch', 'Job')) await reconcileJob(api, job, pods());
    for (const pod of pods()) await reconcilePod(api, pod, nodes, pods(), this.opts.startPods !== false);
  }
}

// One workload controller acts for the cluster however many kube-apiserver stand-ins share its etcd: each
// tries to hold the kube-system/kube-controller-manager Lease, as kube-controller-manager's leader election
// does, renewing it with a resourceVersion-pinned update so that only one holder wins a race.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiError, type KubeApiServer } from '../kube-api/api-server.js';
import { type KubeObject, kubeTime } from '../kube-api/kube-object.js';

const LEASE_SECONDS = 15;
const RENEW_MS = 2000;
const NAME = 'kube-controller-manager';

const microTime = (at: number) => new Date(at).toISOString().replace('Z', '000Z');

export class ControllerLease {
  readonly identity = `${hostname()}_${randomBytes(8).toString('hex')}`;
  private held = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly api: KubeApiServer,
    private readonly onError: (message: string) => void,
  ) {}

  isLeader(): boolean {
    return this.held;
  }

  start(): void {
    const tick = () => {
      this.renew().then(
        (held) => {
          this.held = held;
        },
        (e: Error) => {
          this.held = false;
          this.onError(`leader election: ${e.message}`);
        },
      );
    };
    tick();
    this.timer = setInterval(tick, RENEW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<boolean> {
    const t = this.api.typeOf('coordination.k8s.io', 'Lease');
    const now = Date.now();
    const spec = (acquired: string | undefined, transitions: number): KubeObject => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: LEASE_SECONDS,
      acquireTime: acquired ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    });
    const current = this.api.get(t, 'kube-system', NAME);
    try {
      if (!current) {
        await this.api.create(t, 'kube-system', { metadata: { name: NAME }, spec: spec(undefined, 0) });
        return true;
      }
      const s = current.spec ?? {};
      const mine = s.holderIdentity === this.identity;
      const expired = Date.parse(s.renewTime ?? kubeTime(0)) + (s.leaseDurationSeconds ?? 0) * 1000 < now;
      if (!mine && !expired) return false;
      await this.api.update(t, 'kube-system', NAME, {
        metadata: { name: NAME, resourceVersion: current.metadata.resourceVersion },
        spec: spec(mine ? s.acquireTime : undefined, (s.leaseTransitions ?? 0) + (mine ? 0 : 1)),
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return false;
      throw e;
    }
  }
}

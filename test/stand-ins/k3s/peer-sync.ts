// Servers keep one another's copy of the state current: each local write is pushed to every other server
// listed in the state, and every few seconds each server pulls the others' records, which also brings back a
// server that was down while writes happened.
import type { ClusterState, StateRecord } from './cluster-state.js';
import { callHttps } from './https-client.js';
import { klog } from './standin-log.js';

export interface ServerPeer {
  name: string;
  url: string;
  address: string;
}

export class PeerSync {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: ClusterState,
    private readonly selfName: string,
    private readonly ca: string,
    private readonly serverPassword: string,
  ) {}

  peers(): ServerPeer[] {
    return (this.state.values('server/') as ServerPeer[]).filter((p) => p.name !== this.selfName);
  }

  start(intervalMs: number): void {
    this.state.on('local', (r: StateRecord) => {
      for (const p of this.peers()) void this.push(p, [r]);
    });
    const tick = () => {
      void this.pullAll().finally(() => {
        this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  async pullAll(): Promise<void> {
    await Promise.all(this.peers().map((p) => this.pull(p)));
  }

  private auth() {
    return { ca: this.ca, basicAuth: { user: 'server', password: this.serverPassword }, timeoutMs: 3000 };
  }

  private async push(peer: ServerPeer, records: StateRecord[]): Promise<void> {
    try {
      const r = await callHttps(`${peer.url}/v1-k3s/standin-replicate`, {
        ...this.auth(),
        method: 'POST',
        body: records,
      });
      if (r.status !== 200) klog.debug(`Replication to ${peer.name} answered ${r.status}`);
    } catch (e) {
      klog.debug(`Replication to ${peer.name} failed: ${(e as Error).message}`);
    }
  }

  private async pull(peer: ServerPeer): Promise<void> {
    try {
      const r = await callHttps(`${peer.url}/v1-k3s/standin-state`, this.auth());
      if (r.status === 200) this.state.merge(JSON.parse(r.text) as StateRecord[]);
    } catch (e) {
      klog.debug(`State pull from ${peer.name} failed: ${(e as Error).message}`);
    }
  }
}

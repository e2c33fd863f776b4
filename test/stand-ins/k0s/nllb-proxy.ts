// Node-local load balancing on a worker (spec.network.nodeLocalLoadBalancing, type EnvoyProxy): k0s runs an
// envoy that listens on loopback (apiServerBindPort, 7443) and forwards to every API server the cluster's
// `kubernetes` Endpoints list, and points the kubelet at it. The stand-in does the same TCP forwarding in
// process: each connection goes to the next upstream in turn, trying the others when one refuses.
// aliased: the bundle hoists node:https's createServer beside these
import { connect as connectTcp, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { klog } from '../k3s/standin-log.js';

export interface Upstream {
  host: string;
  port: number;
}

const CONNECT_TIMEOUT_MS = 3_000;

export class NodeLocalBalancer {
  private upstreams: Upstream[] = [];
  private next = 0;
  private server: Server | undefined;

  constructor(private readonly bindPort: number) {}

  setUpstreams(list: Upstream[]): void {
    const text = (l: Upstream[]) =>
      l
        .map((u) => `${u.host}:${u.port}`)
        .sort()
        .join(',');
    if (text(list) === text(this.upstreams)) return;
    klog.info(`NLLB upstreams: ${text(list) || '(none)'}`);
    this.upstreams = list;
  }

  upstreamList(): Upstream[] {
    return [...this.upstreams];
  }

  async start(): Promise<void> {
    this.server = createTcpServer((client) => this.forward(client, 0));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.bindPort, '127.0.0.1', () => resolve());
    });
    klog.info(`Node-local load balancer listening on 127.0.0.1:${this.bindPort}`);
  }

  private forward(client: Socket, tried: number): void {
    const list = this.upstreams;
    if (!list.length || tried >= list.length) {
      client.destroy();
      return;
    }
    const u = list[this.next++ % list.length];
    client.pause();
    if (tried === 0) client.on('error', () => client.destroy());
    let connected = false;
    const up = connectTcp({ host: u.host, port: u.port });
    const timer = setTimeout(() => up.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    up.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      client.pipe(up);
      up.pipe(client);
      client.resume();
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    up.once('error', () => {
      clearTimeout(timer);
      if (!connected) this.forward(client, tried + 1);
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

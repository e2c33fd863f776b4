// The k3s supervisor endpoints sharing port 6443 with the API: CA download, agent config and node
// certificates (HTTP Basic with the token's user/password), server bootstrap, and the stand-in's replication
// calls between servers, which take the place of etcd peer traffic.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, readJson, sendJson, sendText } from '../kube-api/api-response.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import type { ClusterState, StateRecord } from './cluster-state.js';
import { type CertPair, signLeaf } from './openssl-pki.js';
import type { ServerPeer } from './peer-sync.js';
import { klog } from './standin-log.js';

export interface BootstrapData {
  serverCa: CertPair;
  clientCa: CertPair;
  requestHeaderCa: CertPair;
  serviceKey: string;
  serverPassword: string;
  agentPassword?: string;
  critical: Record<string, string>;
}

export interface SupervisorContext {
  state: ClusterState;
  bootstrap: BootstrapData;
  etcd: boolean;
  agentConfig: KubeObject;
}

type Role = 'server' | 'node';

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export const passwordHash = (password: string) => createHash('sha256').update(password).digest('hex');

export function isSupervisorPath(path: string): boolean {
  return path === '/cacerts' || path === '/ping' || path.startsWith('/v1-k3s/');
}

export class Supervisor {
  constructor(private readonly ctx: SupervisorContext) {}

  private role(req: IncomingMessage): Role | undefined {
    const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const text = Buffer.from(m[1], 'base64').toString('utf8');
    const at = text.indexOf(':');
    const user = text.slice(0, at);
    const password = text.slice(at + 1);
    const b = this.ctx.bootstrap;
    if (user === 'server' && sameSecret(password, b.serverPassword)) return 'server';
    if (user === 'node' && sameSecret(password, b.agentPassword ?? b.serverPassword)) return 'node';
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (path === '/ping') return sendText(res, 200, 'pong');
    if (path === '/cacerts') return sendText(res, 200, this.ctx.bootstrap.serverCa.cert);
    const role = this.role(req);
    if (!role) return sendText(res, 401, 'Unauthorized\n');
    const route = path.slice('/v1-k3s/'.length);
    const serverOnly = route.startsWith('standin-') || route === 'server-bootstrap';
    if (serverOnly && role !== 'server') return sendText(res, 403, 'Forbidden\n');
    try {
      switch (route) {
        case 'readyz':
          return sendText(res, 200, 'ok');
        case 'config':
          return sendJson(res, 200, this.ctx.agentConfig);
        case 'apiservers':
          return sendJson(
            res,
            200,
            (this.ctx.state.values('server/') as ServerPeer[]).map((p) => p.address),
          );
        case 'server-ca.crt':
          return sendText(res, 200, this.ctx.bootstrap.serverCa.cert);
        case 'client-ca.crt':
          return sendText(res, 200, this.ctx.bootstrap.clientCa.cert);
        case 'client-kubelet.crt':
        case 'serving-kubelet.crt':
          return await this.nodeCert(req, res, route);
        case 'server-bootstrap':
          return sendJson(res, 200, this.ctx.bootstrap);
        case 'standin-join':
          return await this.join(req, res);
        case 'standin-state':
          return sendJson(res, 200, this.ctx.state.snapshot());
        case 'standin-replicate':
          this.ctx.state.merge((await readJson(req)) as StateRecord[]);
          return sendJson(res, 200, {});
        default:
          return sendText(res, 404, '404 page not found\n');
      }
    } catch (e) {
      if (e instanceof BodyError) return sendText(res, 400, `${e.message}\n`);
      throw e;
    }
  }

  private async join(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.ctx.etcd) {
      return sendText(
        res,
        400,
        'this server is not running embedded etcd; servers can only join a cluster started with --cluster-init\n',
      );
    }
    const peer = (await readJson(req)) as ServerPeer;
    this.ctx.state.put(`server/${peer.name}`, () => peer);
    klog.info(`Added etcd member ${peer.name} at ${peer.address}`);
    sendJson(res, 200, this.ctx.state.snapshot());
  }

  /** k3s checks the node password here, the first time storing it as the node's password secret. */
  private async nodeCert(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    const name = String(req.headers['k3s-node-name'] ?? '');
    const password = String(req.headers['k3s-node-password'] ?? '');
    if (!name || !password) return sendText(res, 400, 'missing node name or password headers\n');
    const stored = this.ctx.state.get(`pw/${name}`) as string | undefined;
    const hash = passwordHash(password);
    if (stored && stored !== hash) {
      klog.error(`Node password validation failed for '${name}', using passwd file authentication`);
      return sendText(
        res,
        403,
        `Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag\n`,
      );
    }
    if (!stored) this.ctx.state.put(`pw/${name}`, () => hash);
    const ips = String(req.headers['k3s-node-ip'] ?? '')
      .split(',')
      .filter(Boolean);
    const b = this.ctx.bootstrap;
    const pair =
      route === 'client-kubelet.crt'
        ? await signLeaf(b.clientCa, { cn: `system:node:${name}`, org: 'system:nodes', usage: 'client' })
        : await signLeaf(b.serverCa, {
            cn: name,
            sans: [name, 'localhost', '127.0.0.1', ...ips],
            usage: 'server',
          });
    const ca = route === 'client-kubelet.crt' ? b.clientCa.cert : b.serverCa.cert;
    sendText(res, 200, pair.cert + ca + pair.key);
  }
}

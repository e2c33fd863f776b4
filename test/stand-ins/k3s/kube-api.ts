// The Kubernetes API as a k3s server answers it: the shared stand-in API over the replicated state, with
// k3s's version, the node authorizer's rules for kubelets, pod CIDRs handed to new nodes, node liveness,
// and the node password and etcd member records dropped together with their node.
import { type ApiUser, KubeApiServer, type RequestAttributes } from '../kube-api/api-server.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { nodeAuthorizes } from '../kube-api/node-authorizer.js';
import type { ClusterState } from './cluster-state.js';
import { withLiveness } from './node-object.js';
import { K3S_COMMIT, K3S_GO_VERSION, K3S_VERSION } from './standin-paths.js';

export interface ApiContext {
  state: ClusterState;
  advertiseAddress: string;
  clusterCidr: string;
  serviceCidr: string;
}

export function versionInfo(): KubeObject {
  const m = /^v(\d+)\.(\d+)/.exec(K3S_VERSION);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '28',
    gitVersion: K3S_VERSION,
    gitCommit: `${K3S_COMMIT}0000000000000000000000000000000`,
    gitTreeState: 'clean',
    buildDate: '2024-09-19T21:54:37Z',
    goVersion: K3S_GO_VERSION,
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/** Admins may do anything; a kubelet what the Node authorizer allows. */
function authorize(user: ApiUser, a: RequestAttributes): boolean {
  return user.groups.includes('system:masters') || nodeAuthorizes(user, a);
}

function podCidr(clusterCidr: string, nodes: KubeObject[]): string | undefined {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(clusterCidr);
  if (!m) return undefined;
  const used = new Set(nodes.map((n) => n.spec?.podCIDR));
  for (let i = 0; i < 256; i++) {
    const cidr = `${m[1]}.${m[2]}.${i}.0/24`;
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}

export function k3sKubeApi(ctx: ApiContext): KubeApiServer {
  const api: KubeApiServer = new KubeApiServer({
    storage: ctx.state,
    version: versionInfo(),
    advertiseAddress: ctx.advertiseAddress,
    serviceCidr: ctx.serviceCidr,
    authorize,
    hooks: {
      '/nodes': {
        beforeCreate(node) {
          node.spec ??= {};
          if (node.spec.podCIDR) return;
          const cidr = podCidr(ctx.clusterCidr, api.list(api.typeOf('', 'Node')));
          if (cidr) {
            node.spec.podCIDR = cidr;
            node.spec.podCIDRs = [cidr];
          }
        },
        view: (node) => withLiveness(node, Date.now()),
        afterDelete(node) {
          // k3s drops the node password secret and, for a server, its etcd member together with the node.
          const name = node.metadata.name;
          if (ctx.state.get(`pw/${name}`) !== undefined) ctx.state.put(`pw/${name}`, () => null);
          if (ctx.state.get(`server/${name}`) !== undefined) ctx.state.put(`server/${name}`, () => null);
        },
      },
    },
  });
  return api;
}

// The contract between the phases (which hold SSH connections) and a distribution driver (which only
// builds files and shell). Everything a driver returns is data, so a dry run can print it and a unit test
// can inspect or execute it.

import type { HostAction } from '../host/action.js';
import type { RegistryEndpoint } from '../registry/mirrors.js';

/** A HostAction bound to the host it is for. */
export interface HostStep extends HostAction {
  host: string;
}

export interface ClusterHost {
  ip: string;
  hostname?: string;
  roles: string[];
}

export interface RuntimeContext {
  clusterName: string;
  /** The image root filesystem on every host, e.g. /var/lib/berth/<cluster>/rootfs. */
  rootfsDir: string;
  env: Record<string, string>;
  masters: ClusterHost[];
  nodes: ClusterHost[];
  registry: RegistryEndpoint;
  /** Virtual IP of the node-local API balancer (default 10.103.97.2, or the image's vip label). */
  vip: string;
  apiServerDomain: 'apiserver.cluster.local';
  apiPort: number;
  /** The distribution's config documents from the Clusterfile. */
  distributionConfig: Record<string, unknown>[];
  /** The image's default distribution config file content (YAML), e.g. etc/k3s.yml. */
  imageDefaultConfig?: string;
  /** Generated and kept encrypted by the state layer. */
  secrets: { token: string; agentToken?: string };
}

export interface KubeconfigSource {
  /** Where the admin kubeconfig lives on the first master. */
  remotePath: string;
  /** Turns the fetched file into one usable from the machine running berth. */
  rewrite(content: string): string;
}

export interface Runtime {
  readonly name: string;
  /** Brings up the first master. */
  init(ctx: RuntimeContext): HostStep[];
  /** One entry per master; the caller runs them one after another, in order. */
  joinMasters(ctx: RuntimeContext, hosts: ClusterHost[]): HostStep[];
  /** The caller may run these in parallel. */
  joinNodes(ctx: RuntimeContext, hosts: ClusterHost[]): HostStep[];
  /** Removes the masters from the cluster (run on a remaining master) and resets them. */
  deleteMasters(ctx: RuntimeContext, hosts: ClusterHost[]): HostStep[];
  deleteNodes(ctx: RuntimeContext, hosts: ClusterHost[]): HostStep[];
  /** Undoes everything the distribution and berth's host pieces made on the host. */
  reset(ctx: RuntimeContext, host: ClusterHost): HostAction;
  /** Steps in order: masters one at a time, then nodes. */
  upgrade(ctx: RuntimeContext, version: string): HostStep[];
  /** The token a new server joins with. */
  joinToken(ctx: RuntimeContext): string;
  kubeconfig(ctx: RuntimeContext): KubeconfigSource;
  /** Certificate files on a master whose expiry is worth checking. */
  certificates(ctx: RuntimeContext): string[];
  /** Points the node-local API balancer of `node` at the current masters. */
  nodeBalancingSync(ctx: RuntimeContext, node: ClusterHost): HostAction;
}

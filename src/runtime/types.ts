// The contract between the apply engine (which holds the SSH connections and the journal) and a
// distribution driver (which only builds files and shell). Everything a driver returns is data, so a dry
// run can print it and a unit test can inspect or execute it. docs/architecture.md shows a driver step.

import type { DistributionDoc } from '../clusterfile/documents.js';
import type { HostAction } from '../host/action.js';
import type { RegistryEndpoint } from '../registry/mirrors.js';
import type { KubeVersion } from './kube-version.js';

/** A HostAction for one host, with its identity in the journal. */
export interface HostStep extends HostAction {
  host: string;
  /** Stable id of the step on its host (`init`, `join`, ...): the journal remembers it as done. */
  id: string;
  /**
   * What decides whether a done step must run again: the whole action when absent. A driver leaves out
   * values that change from one apply to the next without changing the result (a fresh join token).
   */
  inputs?: unknown;
  /**
   * Values the step reads back from its host after its commands: name -> sh printing the value on stdout.
   * berth masks them in every log line and keeps them (encrypted) with the journal; steps planned later
   * use them through stepOutput().
   */
  outputs?: Record<string, string>;
  /**
   * The step runs whenever it is planned and is not journaled (removing a node through a master). With
   * `outputs` it runs only when a step still to do in the same plan uses them (a fresh join token).
   */
  always?: boolean;
  /**
   * What a failed command is said to be (`application example/hello:1.0`): the failure then names it,
   * the host and the last line the step printed, instead of the shell's own message.
   */
  failure?: string;
}

/** What the facts phase learnt about a host, as the drivers see it. */
export interface ClusterHost {
  ip: string;
  hostname?: string;
  roles: string[];
  /** OCI architecture name: amd64, arm64. */
  arch?: string;
  /** /etc/os-release ID and VERSION_ID, e.g. debian 12. */
  os?: { id: string; version: string };
  /** systemd when it runs as PID 1, else berth's own supervisor runs services. */
  init?: 'systemd' | 'other';
  /** The cgroup driver a kubelet must use there: systemd with systemd on cgroup v2, else cgroupfs. */
  cgroupDriver?: 'systemd' | 'cgroupfs';
  /** A container runtime socket already present on the host, if any. */
  criSocket?: string;
}

export interface RuntimeContext<S = unknown> {
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
  /** The Kubernetes version of the cluster image (its `version` label), when it declares one. */
  kubeVersion?: KubeVersion;
  /**
   * The Clusterfile documents of the kinds the driver claims (RuntimeDefaults.configKinds), with the file
   * and lines they were written at, for the driver's messages.
   */
  distributionConfig: DistributionDoc[];
  /** The image's default distribution config (the first of RuntimeDefaults.configFiles it has). */
  imageDefaultConfig?: string;
  /** What the driver's prepare returned; berth keeps it encrypted in the cluster's state dir. */
  state: S;
}

/** Everything of the context but the driver's own state, which prepare makes. */
export type PrepareContext = Omit<RuntimeContext, 'state'>;

export interface KubeconfigSource {
  /** Where the admin kubeconfig lives on the first master. */
  remotePath: string;
  /** Turns the fetched file into one usable from the machine running berth. */
  rewrite(content: string): string;
}

/** What a driver brings of its own, so that no generic phase names a distribution's paths or kinds. */
export interface RuntimeDefaults {
  /** Files of the image root holding the distribution's default config, the first found wins. */
  configFiles: readonly string[];
  /** Kinds of Clusterfile documents that configure this distribution. */
  configKinds: readonly string[];
  /** Paths on a host that the driver's reset removes (listed by reset --dry-run). */
  resetPaths: readonly string[];
  /**
   * Directories on a master holding the distribution's certificates (each read alone, not its subdirs):
   * every `*.crt` in them is listed by `berth cert check` and watched for expiry by `berth status`.
   */
  certificateDirs: readonly string[];
  /** Kubeconfig files on a master whose embedded client certificate (client-certificate-data) is listed too. */
  certificateKubeconfigs?: readonly string[];
}

export interface Runtime<S = unknown> {
  readonly name: string;
  readonly defaults: RuntimeDefaults;
  /**
   * Runs on the machine running berth before any host is touched: checks the Kubernetes version (one
   * line for an unsupported one) and makes what the driver must keep between applies (tokens, a CA).
   * `previous` is what it returned on the last apply, undefined for a new cluster. The result must be
   * plain JSON; every string in it is masked in logs.
   */
  prepare(ctx: PrepareContext, previous: S | undefined): Promise<S>;
  /** Brings up the first master. */
  init(ctx: RuntimeContext<S>): HostStep[];
  /** One entry per master; the engine runs them one after another, in order. */
  joinMasters(ctx: RuntimeContext<S>, hosts: ClusterHost[]): HostStep[];
  /** The engine may run these in parallel. */
  joinNodes(ctx: RuntimeContext<S>, hosts: ClusterHost[]): HostStep[];
  /** Removes the masters from the cluster (run on a remaining master) and resets them. */
  deleteMasters(ctx: RuntimeContext<S>, hosts: ClusterHost[]): HostStep[];
  deleteNodes(ctx: RuntimeContext<S>, hosts: ClusterHost[]): HostStep[];
  /** Undoes everything the distribution made on the host. */
  reset(ctx: RuntimeContext<S>, host: ClusterHost): HostAction;
  kubeconfig(ctx: RuntimeContext<S>): KubeconfigSource;
  /** Points the node-local API balancer of `node` at the current masters. */
  nodeBalancingSync(ctx: RuntimeContext<S>, node: ClusterHost): HostAction;
  /**
   * Moves one host of a running cluster from the version `from` (the last applied image's) to
   * ctx.kubeVersion, after the new rootfs is on it. The engine calls it only for hosts that were already in
   * the cluster, one host at a time, masters first in order (masters[0] is the first upgraded), then
   * nodes; it has already checked that the step is one minor at most and not a downgrade, and it cordons
   * and drains the host before these steps and uncordons it after. Step ids name the target version
   * (`upgrade-v1.30.0`), so an interrupted upgrade resumes and a later one is not taken as done. A driver
   * without it cannot upgrade: the engine refuses a version change with one line. Because a version change
   * goes through here, the inputs of init and join steps leave the version out.
   */
  upgrade?(ctx: RuntimeContext<S>, host: ClusterHost, from: KubeVersion): HostStep[];
  /**
   * Makes certificates again on a running cluster from the CAs in the state (`berth cert --alt-names`,
   * `berth cert renew`): the new state, which berth keeps before any host is changed, and the steps that
   * put the certificates on the masters and restart what reads them, run one after another in order, each
   * returning only once its master answers again. A driver without it has no certificates berth makes.
   */
  changeCertificates?(
    ctx: RuntimeContext<S>,
    change: CertificateChange,
  ): Promise<{ state: S; steps: HostStep[] }>;
}

/** `alt-names`: the API server's certificate with `names` added (kept for later ones); `renew`: every leaf. */
export type CertificateChange = { kind: 'alt-names'; names: string[] } | { kind: 'renew' };

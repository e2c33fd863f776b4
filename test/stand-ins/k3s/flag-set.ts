// The k3s v1.28 command-line surface (urfave/cli v1 on Go's flag package): flag tables, parsing with Go's
// rules, env bindings, help text, and the exact "flag provided but not defined" failure.
import { defaultConfigFile } from './standin-paths.js';

export type FlagKind = 'string' | 'bool' | 'boolT' | 'slice' | 'int' | 'duration';

export interface FlagDef {
  names: string[];
  kind: FlagKind;
  usage: string;
  env?: string;
  def?: string;
  hidden?: boolean;
}

function fd(
  names: string,
  kind: FlagKind,
  usage: string,
  env?: string,
  def?: string,
  hidden?: boolean,
): FlagDef {
  return { names: names.split(','), kind, usage, env, def, hidden };
}

const S = 'string';
const B = 'bool';

const logFlags: FlagDef[] = [
  fd(
    'config,c',
    S,
    '(config) Load configuration from FILE',
    'K3S_CONFIG_FILE',
    '/etc/rancher/k3s/config.yaml',
  ),
  fd('debug', B, '(logging) Turn on debug logs', 'K3S_DEBUG'),
  fd('v', 'int', '(logging) Number for the log level verbosity', undefined, '0'),
  fd(
    'vmodule',
    S,
    '(logging) Comma-separated list of FILE_PATTERN=LOG_LEVEL settings for file-filtered logging',
  ),
  fd('log,l', S, '(logging) Log to file'),
  fd('alsologtostderr', B, '(logging) Log to standard error as well as file (if set)'),
];

const nodeFlags: FlagDef[] = [
  fd('node-name', S, '(agent/node) Node name', 'K3S_NODE_NAME'),
  fd('with-node-id', B, '(agent/node) Append id to node name'),
  fd('node-label', 'slice', '(agent/node) Registering and starting kubelet with set of labels'),
  fd('node-taint', 'slice', '(agent/node) Registering kubelet with set of taints'),
  fd(
    'image-credential-provider-bin-dir',
    S,
    '(agent/node) The path to the directory where credential provider plugin binaries are located',
    undefined,
    '/var/lib/rancher/credentialprovider/bin',
  ),
  fd(
    'image-credential-provider-config',
    S,
    '(agent/node) The path to the credential provider plugin config file',
    undefined,
    '/var/lib/rancher/credentialprovider/config.yaml',
  ),
];

const runtimeFlags: FlagDef[] = [
  fd('docker', B, '(agent/runtime) (experimental) Use cri-dockerd instead of containerd'),
  fd(
    'container-runtime-endpoint',
    S,
    '(agent/runtime) Disable embedded containerd and use the CRI socket at the given path',
  ),
  fd('default-runtime', S, '(agent/runtime) Set the default runtime in containerd'),
  fd(
    'image-service-endpoint',
    S,
    '(agent/runtime) Disable embedded containerd image service and use remote image service socket at the given path',
  ),
  fd(
    'disable-default-registry-endpoint',
    B,
    "(agent/containerd) Disables containerd's fallback default registry endpoint when a mirror is configured for that registry",
  ),
  fd(
    'pause-image',
    S,
    '(agent/runtime) Customized pause image for containerd or docker sandbox',
    undefined,
    'rancher/mirrored-pause:3.6',
  ),
  fd('snapshotter', S, '(agent/runtime) Override default containerd snapshotter', undefined, 'overlayfs'),
  fd(
    'private-registry',
    S,
    '(agent/runtime) Private registry configuration file',
    undefined,
    '/etc/rancher/k3s/registries.yaml',
  ),
];

const netFlags: FlagDef[] = [
  fd('node-ip,i', 'slice', '(agent/networking) IPv4/IPv6 addresses to advertise for node'),
  fd('node-external-ip', 'slice', '(agent/networking) IPv4/IPv6 external IP addresses to advertise for node'),
  fd('node-internal-dns', 'slice', '(agent/networking) internal DNS addresses to advertise for node'),
  fd('node-external-dns', 'slice', '(agent/networking) external DNS addresses to advertise for node'),
  fd('resolv-conf', S, '(agent/networking) Kubelet resolv.conf file', 'K3S_RESOLV_CONF'),
  fd('flannel-iface', S, '(agent/networking) Override default flannel interface'),
  fd('flannel-conf', S, '(agent/networking) Override default flannel config file'),
  fd('flannel-cni-conf', S, '(agent/networking) Override default flannel cni config file'),
  fd('vpn-auth', S, '(agent/networking) (experimental) Credentials for the VPN provider', 'K3S_VPN_AUTH'),
  fd(
    'vpn-auth-file',
    S,
    '(agent/networking) (experimental) File containing credentials for the VPN provider',
    'K3S_VPN_AUTH_FILE',
  ),
];

const componentArgFlags: FlagDef[] = [
  fd('kubelet-arg', 'slice', '(agent/flags) Customized flag for kubelet process'),
  fd('kube-proxy-arg', 'slice', '(agent/flags) Customized flag for kube-proxy process'),
  fd('protect-kernel-defaults', B, '(agent/node) Kernel tuning behavior'),
];

const experimentalFlags: FlagDef[] = [
  fd('rootless', B, '(experimental) Run rootless'),
  fd('prefer-bundled-bin', B, '(experimental) Prefer bundled userspace binaries over host binaries'),
  fd('selinux', B, '(agent/node) Enable SELinux in containerd', 'K3S_SELINUX'),
  fd(
    'lb-server-port',
    'int',
    '(agent/node) Local port for supervisor client load-balancer',
    'K3S_LB_SERVER_PORT',
    '6444',
  ),
  fd(
    'airgap-extra-registry',
    'slice',
    'Additional registry to tag airgap images as being sourced from',
    undefined,
    undefined,
    true,
  ),
];

export const serverFlags: FlagDef[] = [
  ...logFlags,
  fd('bind-address', S, '(listener) k3s bind address', undefined, '0.0.0.0'),
  fd('https-listen-port', 'int', '(listener) HTTPS listen port', undefined, '6443'),
  fd(
    'advertise-address',
    S,
    '(listener) IPv4/IPv6 address that apiserver uses to advertise to members of the cluster',
  ),
  fd(
    'advertise-port',
    'int',
    '(listener) Port that apiserver uses to advertise to members of the cluster',
    undefined,
    '0',
  ),
  fd(
    'tls-san',
    'slice',
    '(listener) Add additional hostnames or IPv4/IPv6 addresses as Subject Alternative Names on the server TLS cert',
  ),
  fd(
    'tls-san-security',
    'boolT',
    '(listener) Protect the server TLS cert by refusing to add Subject Alternative Names not associated with the kubernetes apiserver service, server nodes, or values of the tls-san option',
  ),
  fd('data-dir,d', S, '(data) Folder to hold state', 'K3S_DATA_DIR', '/var/lib/rancher/k3s'),
  fd(
    'cluster-cidr',
    'slice',
    '(networking) IPv4/IPv6 network CIDRs to use for pod IPs',
    undefined,
    '10.42.0.0/16',
  ),
  fd(
    'service-cidr',
    'slice',
    '(networking) IPv4/IPv6 network CIDRs to use for service IPs',
    undefined,
    '10.43.0.0/16',
  ),
  fd(
    'service-node-port-range',
    S,
    '(networking) Port range to reserve for services with NodePort visibility',
    undefined,
    '30000-32767',
  ),
  fd('cluster-dns', 'slice', '(networking) IPv4 Cluster IP for coredns service', undefined, '10.43.0.10'),
  fd('cluster-domain', S, '(networking) Cluster Domain', undefined, 'cluster.local'),
  fd(
    'flannel-backend',
    S,
    "(networking) Backend (valid values: 'none', 'vxlan', 'host-gw', 'wireguard-native'",
    undefined,
    'vxlan',
  ),
  fd('flannel-ipv6-masq', B, '(networking) Enable IPv6 masquerading for pod'),
  fd('flannel-external-ip', B, '(networking) Use node external IP addresses for Flannel traffic'),
  fd(
    'egress-selector-mode',
    S,
    "(networking) One of 'agent', 'cluster', 'pod', 'disabled'",
    undefined,
    'agent',
  ),
  fd(
    'servicelb-namespace',
    S,
    '(networking) Namespace of the pods for the servicelb component',
    undefined,
    'kube-system',
  ),
  fd(
    'write-kubeconfig,o',
    S,
    '(client) Write kubeconfig for admin client to this file',
    'K3S_KUBECONFIG_OUTPUT',
  ),
  fd('write-kubeconfig-mode', S, '(client) Write kubeconfig with this mode', 'K3S_KUBECONFIG_MODE'),
  fd('write-kubeconfig-group', S, '(client) Write kubeconfig with this group', 'K3S_KUBECONFIG_GROUP'),
  fd('helm-job-image', S, '(helm) Default image to use for helm jobs'),
  fd('token,t', S, '(cluster) Shared secret used to join a server or agent to a cluster', 'K3S_TOKEN'),
  fd('token-file', S, '(cluster) File containing the token', 'K3S_TOKEN_FILE'),
  fd(
    'agent-token',
    S,
    '(cluster) Shared secret used to join agents to the cluster, but not servers',
    'K3S_AGENT_TOKEN',
  ),
  fd('agent-token-file', S, '(cluster) File containing the agent secret', 'K3S_AGENT_TOKEN_FILE'),
  fd('server,s', S, '(cluster) Server to connect to, used to join a cluster', 'K3S_URL'),
  fd('cluster-init', B, '(cluster) Initialize a new cluster using embedded Etcd', 'K3S_CLUSTER_INIT'),
  fd(
    'cluster-reset',
    B,
    '(cluster) Forget all peers and become sole member of a new cluster',
    'K3S_CLUSTER_RESET',
  ),
  fd('cluster-reset-restore-path', S, '(db) Path to snapshot file to be restored'),
  fd('kube-apiserver-arg', 'slice', '(flags) Customized flag for kube-apiserver process'),
  fd('etcd-arg', 'slice', '(flags) Customized flag for etcd process'),
  fd('kube-controller-manager-arg', 'slice', '(flags) Customized flag for kube-controller-manager process'),
  fd('kube-scheduler-arg', 'slice', '(flags) Customized flag for kube-scheduler process'),
  fd(
    'kube-cloud-controller-manager-arg',
    'slice',
    '(flags) Customized flag for kube-cloud-controller-manager process',
  ),
  fd(
    'kine-tls',
    B,
    '(experimental/db) Enable TLS on the kine etcd server socket',
    undefined,
    undefined,
    true,
  ),
  fd(
    'datastore-endpoint',
    S,
    '(db) Specify etcd, NATS, MySQL, Postgres, or SQLite (default) data source name',
    'K3S_DATASTORE_ENDPOINT',
  ),
  fd(
    'datastore-cafile',
    S,
    '(db) TLS Certificate Authority file used to secure datastore backend communication',
    'K3S_DATASTORE_CAFILE',
  ),
  fd(
    'datastore-certfile',
    S,
    '(db) TLS certification file used to secure datastore backend communication',
    'K3S_DATASTORE_CERTFILE',
  ),
  fd(
    'datastore-keyfile',
    S,
    '(db) TLS key file used to secure datastore backend communication',
    'K3S_DATASTORE_KEYFILE',
  ),
  fd('etcd-expose-metrics', B, '(db) Expose etcd metrics to client interface'),
  fd('etcd-disable-snapshots', B, '(db) Disable automatic etcd snapshots'),
  fd('etcd-snapshot-name', S, '(db) Set the base name of etcd snapshots', undefined, 'etcd-snapshot'),
  fd(
    'etcd-snapshot-schedule-cron',
    S,
    "(db) Snapshot interval time in cron spec. eg. every 5 hours '0 */5 * * *'",
    undefined,
    '0 */12 * * *',
  ),
  fd('etcd-snapshot-retention', 'int', '(db) Number of snapshots to retain', undefined, '5'),
  fd('etcd-snapshot-dir', S, '(db) Directory to save db snapshots'),
  fd('etcd-snapshot-compress', B, '(db) Compress etcd snapshot'),
  fd('etcd-s3', B, '(db) Enable backup to S3'),
  fd('etcd-s3-endpoint', S, '(db) S3 endpoint url', undefined, 's3.amazonaws.com'),
  fd('etcd-s3-endpoint-ca', S, '(db) S3 custom CA cert to connect to S3 endpoint'),
  fd('etcd-s3-skip-ssl-verify', B, '(db) Disables S3 SSL certificate validation'),
  fd('etcd-s3-access-key', S, '(db) S3 access key', 'AWS_ACCESS_KEY_ID'),
  fd('etcd-s3-secret-key', S, '(db) S3 secret key', 'AWS_SECRET_ACCESS_KEY'),
  fd('etcd-s3-bucket', S, '(db) S3 bucket name'),
  fd('etcd-s3-region', S, '(db) S3 region / bucket location (optional)', undefined, 'us-east-1'),
  fd('etcd-s3-folder', S, '(db) S3 folder'),
  fd('etcd-s3-insecure', B, '(db) Disables S3 over HTTPS'),
  fd('etcd-s3-timeout', 'duration', '(db) S3 timeout', undefined, '5m0s'),
  fd(
    'default-local-storage-path',
    S,
    '(storage) Default local storage path for local provisioner storage class',
  ),
  fd(
    'disable',
    'slice',
    '(components) Do not deploy packaged components and delete any deployed components (valid items: coredns, servicelb, traefik, local-storage, metrics-server, runtimes)',
  ),
  fd('disable-scheduler', B, '(components) Disable Kubernetes default scheduler'),
  fd('disable-cloud-controller', B, '(components) Disable k3s default cloud controller manager'),
  fd('disable-kube-proxy', B, '(components) Disable running kube-proxy'),
  fd('disable-network-policy', B, '(components) Disable k3s default network policy controller'),
  fd('disable-helm-controller', B, '(components) Disable Helm controller'),
  fd(
    'disable-apiserver',
    B,
    '(experimental/components) Disable running api server',
    undefined,
    undefined,
    true,
  ),
  fd(
    'disable-controller-manager',
    B,
    '(experimental/components) Disable running kube-controller-manager',
    undefined,
    undefined,
    true,
  ),
  fd('disable-etcd', B, '(experimental/components) Disable running etcd', undefined, undefined, true),
  fd('embedded-registry', B, '(experimental/components) Enable embedded distributed container registry'),
  fd(
    'supervisor-metrics',
    B,
    '(experimental/components) Enable serving k3s internal metrics on the supervisor port',
  ),
  ...nodeFlags,
  ...runtimeFlags,
  fd(
    'system-default-registry',
    S,
    '(agent/runtime) Private registry to be used for all system images',
    'K3S_SYSTEM_DEFAULT_REGISTRY',
  ),
  ...netFlags,
  ...componentArgFlags,
  fd('secrets-encryption', B, 'Enable secret encryption at rest'),
  fd('enable-pprof', B, '(experimental) Enable pprof endpoint on supervisor port'),
  ...experimentalFlags,
  fd('disable-agent', B, 'Do not run a local agent and register a local kubelet', undefined, undefined, true),
  fd(
    'kube-controller-arg',
    'slice',
    '(flags) Customized flag for kube-controller-manager process',
    undefined,
    undefined,
    true,
  ),
  fd(
    'kube-cloud-controller-arg',
    'slice',
    '(flags) Customized flag for kube-cloud-controller-manager process',
    undefined,
    undefined,
    true,
  ),
];

export const agentFlags: FlagDef[] = [
  ...logFlags,
  fd('token,t', S, '(cluster) Token to use for authentication', 'K3S_TOKEN'),
  fd('token-file', S, '(cluster) Token file to use for authentication', 'K3S_TOKEN_FILE'),
  fd('server,s', S, '(cluster) Server to connect to', 'K3S_URL'),
  fd('data-dir,d', S, '(agent/data) Folder to hold state', 'K3S_DATA_DIR', '/var/lib/rancher/k3s'),
  ...nodeFlags,
  ...runtimeFlags,
  ...netFlags.slice(0, 2),
  fd('bind-address', S, '(listener) k3s bind address'),
  ...netFlags.slice(2),
  ...componentArgFlags,
  fd('enable-pprof', B, '(experimental) Enable pprof endpoint on supervisor port'),
  ...experimentalFlags,
  fd(
    'disable-apiserver-lb',
    B,
    "(agent/networking) (experimental) Disable the agent's client-side load-balancer and connect directly to the configured server address",
  ),
];

export type FlagValues = Map<string, string | string[] | boolean | number>;

export class UsageError extends Error {}

function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function parseGoInt(v: string): number | undefined {
  const m = /^([-+]?)(0x[0-9a-fA-F]+|0o?[0-7]*|[1-9]\d*|0)$/.exec(v);
  if (!m) return undefined;
  const body = m[2];
  let n: number;
  if (body.startsWith('0x')) n = Number.parseInt(body.slice(2), 16);
  else if (body.length > 1 && body.startsWith('0')) n = Number.parseInt(body.replace(/^0o?/, '') || '0', 8);
  else n = Number(body);
  return m[1] === '-' ? -n : n;
}

const durationRe = /^([-+]?)((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$|^0$/;

function assign(values: FlagValues, def: FlagDef, raw: string | undefined, shown: string): void {
  const key = def.names[0];
  if (def.kind === 'bool' || def.kind === 'boolT') {
    const b = raw === undefined ? true : parseGoBool(raw);
    if (b === undefined) throw new UsageError(`invalid boolean value "${raw}" for -${shown}: parse error`);
    values.set(key, b);
  } else if (def.kind === 'int') {
    const n = parseGoInt(raw ?? '');
    if (n === undefined) throw new UsageError(`invalid value "${raw}" for flag -${shown}: parse error`);
    values.set(key, n);
  } else if (def.kind === 'duration') {
    if (!durationRe.test(raw ?? ''))
      throw new UsageError(`invalid value "${raw}" for flag -${shown}: parse error`);
    values.set(key, raw ?? '');
  } else if (def.kind === 'slice') {
    const prev = values.get(key);
    values.set(key, [...(Array.isArray(prev) ? prev : []), raw ?? '']);
  } else {
    values.set(key, raw ?? '');
  }
}

export interface Parsed {
  values: FlagValues;
  positional: string[];
  help: boolean;
}

/** Go flag.FlagSet.Parse semantics, with urfave/cli v1's moving of flags ahead of positional arguments. */
export function parseArgs(defs: FlagDef[], args: string[]): Parsed {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) for (const n of d.names) byName.set(n, d);
  const values: FlagValues = new Map();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const s = args[i];
    if (s === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (s.length < 2 || s[0] !== '-') {
      positional.push(s);
      continue;
    }
    let name = s.slice(s[1] === '-' ? 2 : 1);
    if (!name || name[0] === '-' || name[0] === '=') throw new UsageError(`bad flag syntax: ${s}`);
    let raw: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      raw = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const def = byName.get(name);
    if (!def) throw new UsageError(`flag provided but not defined: -${name}`);
    if (raw === undefined && def.kind !== 'bool' && def.kind !== 'boolT') {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: -${name}`);
      raw = args[++i];
    }
    assign(values, def, raw, name);
  }
  return { values, positional, help };
}

/** urfave/cli v1 fills flags that were not given from their env var; slices split on commas. */
export function applyEnvAndDefaults(defs: FlagDef[], values: FlagValues): void {
  for (const d of defs) {
    const key = d.names[0];
    if (values.has(key)) continue;
    const env = d.env ? process.env[d.env] : undefined;
    if (env) {
      if (d.kind === 'slice')
        values.set(
          key,
          env.split(',').map((x) => x.trim()),
        );
      else assign(values, d, env, key);
    } else if (d.kind === 'boolT') values.set(key, true);
  }
}

function flagLabel(d: FlagDef): string {
  const takesValue = d.kind !== 'bool' && d.kind !== 'boolT';
  const placeholder = d.names[0] === 'config' ? 'FILE' : 'value';
  return d.names
    .map((n) => (n.length === 1 ? '-' : '--') + n + (takesValue ? ` ${placeholder}` : ''))
    .join(', ');
}

export function commandHelp(command: string, summary: string, defs: FlagDef[]): string {
  const rows = defs.filter((d) => !d.hidden);
  const labels = rows.map(flagLabel);
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const lines = rows.map((d, i) => {
    let text = d.usage;
    if (d.names[0] === 'config') text += ` (default: "${defaultConfigFile()}")`;
    else if (d.def !== undefined && d.kind === 'slice') text += ` (default: "${d.def}")`;
    else if (d.def !== undefined && d.kind !== 'bool')
      text += ` (default: ${d.kind === 'string' ? `"${d.def}"` : d.def})`;
    if (d.env) text += ` [$${d.env}]`;
    return `   ${labels[i].padEnd(width)}${text}`;
  });
  return `NAME:\n   k3s ${command} - ${summary}\n\nUSAGE:\n   k3s ${command} [OPTIONS]\n\nOPTIONS:\n${lines.join('\n')}\n   \n`;
}

export function str(values: FlagValues, key: string, fallback = ''): string {
  const v = values.get(key);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
}

export function list(values: FlagValues, key: string): string[] {
  const v = values.get(key);
  return Array.isArray(v) ? v : [];
}

export function flag(values: FlagValues, key: string): boolean {
  return values.get(key) === true;
}

export function num(values: FlagValues, key: string, fallback: number): number {
  const v = values.get(key);
  return typeof v === 'number' ? v : fallback;
}

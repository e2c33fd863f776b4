// k0s's ClusterConfig (k0s.k0sproject.io/v1beta1) as v1.28–v1.30 decode it: strictly (an unknown field fails,
// except `interval` and `podSecurityPolicy`, kept for backward compatibility), with the fields each minor
// has, the defaults the stand-in acts on and the checks k0s makes on the values it validates.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { detectNodeIp } from '../k3s/host-address.js';
import { parseYamlSubset, YamlSubsetError } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { type FieldNode, unknownFields } from '../kubeadm/config-schema.js';

const L = 'leaf' as const;
const image = { image: L, version: L };

function specSchema(minor: number, patch: number): Record<string, FieldNode> {
  const kuberouter: Record<string, FieldNode> = {
    autoMTU: L,
    mtu: L,
    metricsPort: L,
    hairpin: L,
    hairpinMode: L,
    ipMasq: L,
    peerRouterASNs: L,
    peerRouterIPs: L,
  };
  if (minor > 29 || (minor === 29 && patch >= 1)) kuberouter.extraArgs = L;
  const chart: Record<string, FieldNode> = {
    name: L,
    chartname: L,
    version: L,
    values: L,
    namespace: L,
    timeout: L,
    order: L,
  };
  if (minor > 28 || patch >= 14) chart.forceUpgrade = L;
  const network: Record<string, FieldNode> = {
    calico: {
      wireguard: L,
      envVars: L,
      flexVolumeDriverPath: L,
      ipAutodetectionMethod: L,
      ipV6AutodetectionMethod: L,
      mtu: L,
      mode: L,
      overlay: L,
      vxlanPort: L,
      vxlanVNI: L,
    },
    dualStack: { enabled: L, IPv6podCIDR: L, IPv6serviceCIDR: L },
    kubeProxy: {
      disabled: L,
      mode: L,
      metricsBindAddress: L,
      iptables: {
        masqueradeBit: L,
        masqueradeAll: L,
        localhostNodePorts: L,
        syncPeriod: L,
        minSyncPeriod: L,
      },
      ipvs: {
        syncPeriod: L,
        minSyncPeriod: L,
        scheduler: L,
        excludeCIDRs: L,
        strictARP: L,
        tcpTimeout: L,
        tcpFinTimeout: L,
        udpTimeout: L,
      },
      nodePortAddresses: L,
    },
    kuberouter,
    nodeLocalLoadBalancing: {
      enabled: L,
      type: L,
      envoyProxy: {
        image,
        imagePullPolicy: L,
        apiServerBindPort: L,
        konnectivityServerBindPort: L,
      },
    },
    podCIDR: L,
    provider: L,
    serviceCIDR: L,
    clusterDomain: L,
  };
  if (minor >= 30)
    network.controlPlaneLoadBalancing = {
      enabled: L,
      type: L,
      keepalived: {
        vrrpInstances: [
          { virtualIPs: L, interface: L, virtualRouterID: L, advertIntervalSeconds: L, authPass: L },
        ],
        virtualServers: [{ ipAddress: L, delayLoop: L, lbAlgo: L, lbKind: L, persistenceTimeoutSeconds: L }],
      },
    };
  return {
    api: { address: L, externalAddress: L, extraArgs: L, k0sApiPort: L, port: L, sans: L },
    controllerManager: { extraArgs: L },
    scheduler: { extraArgs: L },
    storage: {
      etcd: {
        externalCluster: {
          endpoints: L,
          etcdPrefix: L,
          caFile: L,
          clientCertFile: L,
          clientKeyFile: L,
        },
        peerAddress: L,
        extraArgs: L,
      },
      kine: { dataSource: L },
      type: L,
    },
    network,
    workerProfiles: [{ name: L, values: L }],
    telemetry: { enabled: L },
    installConfig: {
      users: {
        etcdUser: L,
        kineUser: L,
        konnectivityUser: L,
        kubeAPIserverUser: L,
        kubeSchedulerUser: L,
      },
    },
    images: {
      konnectivity: image,
      pushgateway: image,
      metricsserver: image,
      kubeproxy: image,
      coredns: image,
      pause: image,
      calico: { cni: image, node: image, kubecontrollers: image },
      kuberouter: { cni: image, cniInstaller: image },
      repository: L,
      default_pull_policy: L,
    },
    extensions: {
      storage: { type: L, create_default_storage_class: L },
      helm: {
        concurrencyLevel: L,
        repositories: [
          {
            name: L,
            url: L,
            insecure: L,
            caFile: L,
            certFile: L,
            keyfile: L,
            username: L,
            password: L,
          },
        ],
        charts: [chart],
      },
    },
    konnectivity: { adminPort: L, agentPort: L },
    featureGates: [{ name: L, enabled: L, components: L }],
  };
}

/** The ClusterConfig document's schema for k0s `v1.<minor>.<patch>`. */
export function clusterConfigSchema(minor: number, patch: number): FieldNode {
  return { apiVersion: L, kind: L, metadata: L, spec: specSchema(minor, patch), status: L };
}

export class ConfigError extends Error {}

/** What the stand-in reads of a ClusterConfig, defaults applied. */
export interface ClusterSettings {
  doc: KubeObject;
  address: string;
  externalAddress: string;
  port: number;
  k0sApiPort: number;
  sans: string[];
  peerAddress: string;
  podCIDR: string;
  serviceCIDR: string;
  clusterDomain: string;
  nllb: { enabled: boolean; apiServerBindPort: number; konnectivityServerBindPort: number };
  users: { etcdUser: string; kubeAPIserverUser: string; konnectivityUser: string; kubeSchedulerUser: string };
  apiExtraArgs: Record<string, string>;
  etcdExtraArgs: Record<string, string>;
  pauseImage: string;
}

const IGNORED = new Set(['interval', 'podSecurityPolicy']);

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
}

const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
const text = (v: unknown, d = '') => (typeof v === 'string' && v ? v : d);
const strMap = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {};

/**
 * Parses and checks a k0s.yaml text as `k0s config validate` and the controller do. The strict decoder's
 * message names only the field (Go's encoding/json), not its path.
 */
export function loadClusterConfig(yaml: string, version: { minor: number; patch: number }): ClusterSettings {
  let doc: KubeObject;
  try {
    doc = (yaml.trim() ? parseYamlSubset(yaml) : {}) as KubeObject;
  } catch (e) {
    if (e instanceof YamlSubsetError) throw new ConfigError(`error converting YAML to JSON: ${e.message}`);
    throw e;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(
      'error unmarshaling JSON: json: cannot unmarshal into Go value of type v1beta1.ClusterConfig',
    );
  const unknown = unknownFields(doc, clusterConfigSchema(version.minor, version.patch)).filter(
    (p) => !IGNORED.has(p.replace(/^.*\./, '').replace(/\[\d+\]$/, '')),
  );
  if (unknown.length) {
    const field = unknown[0].replace(/^.*\./, '');
    throw new ConfigError(`error unmarshaling JSON: while decoding JSON: json: unknown field "${field}"`);
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'k0s.k0sproject.io/v1beta1')
    throw new ConfigError(`invalid apiVersion "${doc.apiVersion}", expected k0s.k0sproject.io/v1beta1`);
  if (doc.kind !== undefined && doc.kind !== '' && doc.kind !== 'ClusterConfig')
    throw new ConfigError(`invalid kind "${doc.kind}", expected ClusterConfig`);
  const spec: KubeObject = doc.spec ?? {};
  const api: KubeObject = spec.api ?? {};
  const net: KubeObject = spec.network ?? {};
  const nllb: KubeObject = net.nodeLocalLoadBalancing ?? {};
  const errors: string[] = [];
  const provider = text(net.provider, 'kuberouter');
  if (!['kuberouter', 'calico', 'custom'].includes(provider))
    errors.push(
      `spec.network.provider: Unsupported value: "${provider}": supported values: "kuberouter", "calico", "custom"`,
    );
  const storageType = text(spec.storage?.type, 'etcd');
  if (!['etcd', 'kine'].includes(storageType))
    errors.push(`spec.storage.type: Unsupported value: "${storageType}": supported values: "etcd", "kine"`);
  if (nllb.type !== undefined && nllb.type !== 'EnvoyProxy')
    errors.push(
      `spec.network.nodeLocalLoadBalancing.type: Unsupported value: "${nllb.type}": supported values: "EnvoyProxy"`,
    );
  const address = text(api.address, detectNodeIp());
  if (!isIP(address)) errors.push(`spec.api.address: Invalid value: "${address}": invalid IP address`);
  for (const san of api.sans ?? [])
    if (typeof san !== 'string' || !san) errors.push(`spec.api.sans: Invalid value: ${JSON.stringify(san)}`);
  if (errors.length) throw new ConfigError(errors.join('\n'));
  if (storageType === 'kine')
    throw new ConfigError('spec.storage.type: kine is not available in this k0s stand-in (etcd only)');
  const users: KubeObject = spec.installConfig?.users ?? {};
  const pause: KubeObject = spec.images?.pause ?? {};
  const envoy: KubeObject = nllb.envoyProxy ?? {};
  return {
    doc,
    address,
    externalAddress: text(api.externalAddress),
    port: num(api.port, 6443),
    k0sApiPort: num(api.k0sApiPort, 9443),
    sans: Array.isArray(api.sans) && api.sans.length ? api.sans.map(String) : hostAddresses(),
    peerAddress: text(spec.storage?.etcd?.peerAddress, address),
    podCIDR: text(net.podCIDR, '10.244.0.0/16'),
    serviceCIDR: text(net.serviceCIDR, '10.96.0.0/12'),
    clusterDomain: text(net.clusterDomain, 'cluster.local'),
    nllb: {
      enabled: nllb.enabled === true,
      apiServerBindPort: num(envoy.apiServerBindPort, 7443),
      konnectivityServerBindPort: num(envoy.konnectivityServerBindPort, 7132),
    },
    users: {
      etcdUser: text(users.etcdUser, 'etcd'),
      kubeAPIserverUser: text(users.kubeAPIserverUser, 'kube-apiserver'),
      konnectivityUser: text(users.konnectivityUser, 'konnectivity-server'),
      kubeSchedulerUser: text(users.kubeSchedulerUser, 'kube-scheduler'),
    },
    apiExtraArgs: strMap(api.extraArgs),
    etcdExtraArgs: strMap(spec.storage?.etcd?.extraArgs),
    pauseImage: `${text(pause.image, 'registry.k8s.io/pause')}:${text(pause.version, '3.9')}`,
  };
}

/** The `v1.<minor>.<patch>` numbers of a k0s version string. */
export function versionParts(k0s: string): { minor: number; patch: number } {
  const m = /^v1\.(\d+)\.(\d+)/.exec(k0s);
  return { minor: Number(m?.[1] ?? 29), patch: Number(m?.[2] ?? 0) };
}

/** `k0s config create`: the default ClusterConfig for this host. */
export function defaultConfigYaml(): string {
  const addr = detectNodeIp();
  const lines = [
    'apiVersion: k0s.k0sproject.io/v1beta1',
    'kind: ClusterConfig',
    'metadata:',
    '  name: k0s',
    'spec:',
    '  api:',
    `    address: ${addr}`,
    '    k0sApiPort: 9443',
    '    port: 6443',
    '    sans:',
    ...hostAddresses().map((a) => `    - ${a}`),
    '  controllerManager: {}',
    '  installConfig:',
    '    users:',
    '      etcdUser: etcd',
    '      kineUser: kube-apiserver',
    '      konnectivityUser: konnectivity-server',
    '      kubeAPIserverUser: kube-apiserver',
    '      kubeSchedulerUser: kube-scheduler',
    '  konnectivity:',
    '    adminPort: 8133',
    '    agentPort: 8132',
    '  network:',
    '    clusterDomain: cluster.local',
    '    dualStack:',
    '      enabled: false',
    '    kubeProxy:',
    '      mode: iptables',
    '    kuberouter:',
    '      autoMTU: true',
    '      hairpin: Enabled',
    '      metricsPort: 8080',
    '    nodeLocalLoadBalancing:',
    '      enabled: false',
    '      envoyProxy:',
    '        apiServerBindPort: 7443',
    '        konnectivityServerBindPort: 7132',
    '      type: EnvoyProxy',
    '    podCIDR: 10.244.0.0/16',
    '    provider: kuberouter',
    '    serviceCIDR: 10.96.0.0/12',
    '  scheduler: {}',
    '  storage:',
    '    etcd:',
    `      peerAddress: ${addr}`,
    '    type: etcd',
    '  telemetry:',
    '    enabled: true',
  ];
  return `${lines.join('\n')}\n`;
}

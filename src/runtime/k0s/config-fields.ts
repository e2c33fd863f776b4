import type { KubeVersion } from '../kube-version.js';
import type { Fields, ListOf } from '../kubeadm/config/fields.js';

// The fields of k0s's ClusterConfig (k0s.k0sproject.io/v1beta1) of k0s v1.28-v1.30, as the tree the
// shared field validation walks (reference distributions/k0s.md §7): k0s parses the file strictly, so a
// field it does not know stops the controller at start; berth refuses it before any host is touched.

const v = 'value' as const;
const m = 'map' as const;
const listOf = (fields: Fields): ListOf => ({ listOf: fields });
const image = { image: v, version: v };
const values = (names: string[]): Fields => Object.fromEntries(names.map((n) => [n, v]));

/** Fields k0s reads and ignores anywhere, for configs written for older releases. */
export const ignoredFields = new Set(['interval', 'podSecurityPolicy']);

function network(version: KubeVersion | undefined): Fields {
  const kuberouter: Fields = {
    ...values([
      'autoMTU',
      'mtu',
      'metricsPort',
      'hairpin',
      'hairpinMode',
      'ipMasq',
      'peerRouterASNs',
      'peerRouterIPs',
    ]),
    ...(atLeast(version, 29, 1) ? { extraArgs: m } : {}),
  };
  const keepalived = {
    vrrpInstances: listOf(
      values(['virtualIPs', 'interface', 'virtualRouterID', 'advertIntervalSeconds', 'authPass']),
    ),
    virtualServers: listOf(
      values(['ipAddress', 'delayLoop', 'lbAlgo', 'lbKind', 'persistenceTimeoutSeconds']),
    ),
  };
  return {
    calico: {
      ...values(['wireguard', 'flexVolumeDriverPath', 'ipAutodetectionMethod', 'ipV6AutodetectionMethod']),
      ...values(['mtu', 'mode', 'overlay', 'vxlanPort', 'vxlanVNI']),
      envVars: m,
    },
    dualStack: values(['enabled', 'IPv6podCIDR', 'IPv6serviceCIDR']),
    kubeProxy: {
      ...values(['disabled', 'mode', 'metricsBindAddress', 'nodePortAddresses']),
      iptables: values([
        'masqueradeBit',
        'masqueradeAll',
        'localhostNodePorts',
        'syncPeriod',
        'minSyncPeriod',
      ]),
      ipvs: values([
        'syncPeriod',
        'minSyncPeriod',
        'scheduler',
        'excludeCIDRs',
        'strictARP',
        'tcpTimeout',
        'tcpFinTimeout',
        'udpTimeout',
      ]),
    },
    kuberouter,
    nodeLocalLoadBalancing: {
      enabled: v,
      type: v,
      envoyProxy: {
        image,
        ...values(['imagePullPolicy', 'apiServerBindPort', 'konnectivityServerBindPort']),
      },
    },
    ...(atLeast(version, 30, 0) ? { controlPlaneLoadBalancing: { enabled: v, type: v, keepalived } } : {}),
    ...values(['podCIDR', 'provider', 'serviceCIDR', 'clusterDomain']),
  };
}

function atLeast(version: KubeVersion | undefined, minor: number, patch: number): boolean {
  if (!version) return true;
  return version.minor !== minor ? version.minor > minor : version.patch >= patch;
}

/** The ClusterConfig fields of the k0s `version` (the newest line's when the image declares none). */
export function clusterConfigFields(version: KubeVersion | undefined): Fields {
  const chart = {
    ...values(['name', 'chartname', 'version', 'values', 'namespace', 'timeout', 'order']),
    ...(atLeast(version, 28, 14) ? { forceUpgrade: v } : {}),
  };
  const repository = values([
    'name',
    'url',
    'insecure',
    'caFile',
    'certFile',
    'keyfile',
    'username',
    'password',
  ]);
  return {
    apiVersion: v,
    kind: v,
    metadata: v,
    status: v,
    spec: {
      api: { ...values(['address', 'externalAddress', 'k0sApiPort', 'port', 'sans']), extraArgs: m },
      controllerManager: { extraArgs: m },
      scheduler: { extraArgs: m },
      storage: {
        type: v,
        etcd: {
          externalCluster: values(['endpoints', 'etcdPrefix', 'caFile', 'clientCertFile', 'clientKeyFile']),
          peerAddress: v,
          extraArgs: m,
        },
        kine: { dataSource: v },
      },
      network: network(version),
      workerProfiles: listOf({ name: v, values: v }),
      telemetry: { enabled: v },
      installConfig: {
        users: values(['etcdUser', 'kineUser', 'konnectivityUser', 'kubeAPIserverUser', 'kubeSchedulerUser']),
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
        repository: v,
        default_pull_policy: v,
      },
      extensions: {
        storage: { type: v, create_default_storage_class: v },
        helm: { concurrencyLevel: v, repositories: listOf(repository), charts: listOf(chart) },
      },
      konnectivity: { adminPort: v, agentPort: v },
      featureGates: listOf({ name: v, enabled: v, components: v }),
    },
  };
}

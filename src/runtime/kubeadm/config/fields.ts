import type { KubeadmApi } from './api-version.js';

// The fields each kubeadm config API accepts (kubeadm's types.go of v1beta2, v1beta3 and v1beta4), and the
// top-level fields of the kubelet and kube-proxy component configs of 1.27-1.31, as trees that the
// validation walks. A 'value' holds anything (a scalar, or a free-form list or mapping such as usages);
// a 'scalar' no list or mapping; 'map' is a mapping of free keys to scalars (v1beta3 extraArgs,
// featureGates).

export type Field = 'value' | 'scalar' | 'map' | Fields | ListOf;
export interface Fields {
  readonly [name: string]: Field;
}
export interface ListOf {
  readonly listOf: Fields;
}

const v = 'value' as const;
const m = 'map' as const;
const scalar = 'scalar' as const;
const listOf = (fields: Fields): ListOf => ({ listOf: fields });

export function isListOf(field: Field): field is ListOf {
  return typeof field === 'object' && 'listOf' in field && typeof field.listOf === 'object';
}

const typeMeta = { apiVersion: v, kind: v };

const bootstrapToken = listOf({ token: v, description: v, ttl: v, expires: v, usages: v, groups: v });
const taints = listOf({ key: v, value: v, effect: v, timeAdded: v });
const endpoint = { advertiseAddress: v, bindPort: v };
const patches = { directory: v };
const volumes = listOf({ name: v, hostPath: v, mountPath: v, readOnly: v, pathType: v });
const args = listOf({ name: scalar, value: scalar });
const external = { endpoints: v, caFile: v, certFile: v, keyFile: v };
const networking = { serviceSubnet: v, podSubnet: v, dnsDomain: v };
const bootstrapDiscovery = { token: v, apiServerEndpoint: v, caCertHashes: v, unsafeSkipCAVerification: v };
const timeouts = {
  controlPlaneComponentHealthCheck: v,
  kubeletHealthCheck: v,
  kubernetesAPICall: v,
  etcdAPICall: v,
  tlsBootstrap: v,
  discovery: v,
  upgradeManifests: v,
};

function nodeRegistration(api: KubeadmApi): Fields {
  const common = { name: v, criSocket: v, taints, ignorePreflightErrors: v };
  if (api === 'v1beta2') return { ...common, kubeletExtraArgs: m };
  if (api === 'v1beta3') return { ...common, kubeletExtraArgs: m, imagePullPolicy: v };
  return { ...common, kubeletExtraArgs: args, imagePullPolicy: v, imagePullSerial: v };
}

function init(api: KubeadmApi): Fields {
  const base = {
    ...typeMeta,
    bootstrapTokens: bootstrapToken,
    nodeRegistration: nodeRegistration(api),
    localAPIEndpoint: endpoint,
    certificateKey: v,
  };
  if (api === 'v1beta2') return base;
  if (api === 'v1beta3') return { ...base, skipPhases: v, patches };
  return { ...base, skipPhases: v, patches, dryRun: v, timeouts };
}

function cluster(api: KubeadmApi): Fields {
  const image = { imageRepository: v, imageTag: v };
  const base = {
    ...typeMeta,
    networking,
    kubernetesVersion: v,
    controlPlaneEndpoint: v,
    certificatesDir: v,
    imageRepository: v,
    featureGates: m,
    clusterName: v,
  };
  const sans = { serverCertSANs: v, peerCertSANs: v };
  if (api !== 'v1beta4') {
    const component = { extraArgs: m, extraVolumes: volumes };
    const fields = {
      ...base,
      etcd: { local: { ...image, dataDir: v, extraArgs: m, ...sans }, external },
      apiServer: { ...component, certSANs: v, timeoutForControlPlane: v },
      controllerManager: component,
      scheduler: component,
      dns: api === 'v1beta2' ? { ...image, type: v } : image,
    };
    return api === 'v1beta2' ? { ...fields, useHyperKubeImage: v } : fields;
  }
  const component = { extraArgs: args, extraVolumes: volumes, extraEnvs: v };
  return {
    ...base,
    etcd: { local: { ...image, dataDir: v, extraArgs: args, extraEnvs: v, ...sans }, external },
    apiServer: { ...component, certSANs: v },
    controllerManager: component,
    scheduler: component,
    dns: { ...image, disabled: v },
    proxy: { disabled: v },
    encryptionAlgorithm: v,
    certificateValidityPeriod: v,
    caCertificateValidityPeriod: v,
  };
}

function join(api: KubeadmApi): Fields {
  const discovery = { bootstrapToken: bootstrapDiscovery, file: { kubeConfigPath: v }, tlsBootstrapToken: v };
  const base = {
    ...typeMeta,
    nodeRegistration: nodeRegistration(api),
    caCertPath: v,
    controlPlane: { localAPIEndpoint: endpoint, certificateKey: v },
  };
  if (api === 'v1beta2') return { ...base, discovery: { ...discovery, timeout: v } };
  if (api === 'v1beta3') return { ...base, discovery: { ...discovery, timeout: v }, skipPhases: v, patches };
  return { ...base, discovery, skipPhases: v, patches, dryRun: v, timeouts };
}

export const kubeadmKinds = ['InitConfiguration', 'ClusterConfiguration', 'JoinConfiguration'] as const;
export type KubeadmKind = (typeof kubeadmKinds)[number];

export function kubeadmFields(kind: KubeadmKind, api: KubeadmApi): Fields {
  if (kind === 'InitConfiguration') return init(api);
  if (kind === 'ClusterConfiguration') return cluster(api);
  return join(api);
}

const values = (names: string[]): Fields => Object.fromEntries(names.map((n) => [n, v]));

/** KubeletConfiguration (kubelet.config.k8s.io/v1beta1) of kubelet 1.27-1.31. */
export const kubeletFields: Fields = values([
  'apiVersion',
  'kind',
  'enableServer',
  'staticPodPath',
  'podLogsDir',
  'syncFrequency',
  'fileCheckFrequency',
  'httpCheckFrequency',
  'staticPodURL',
  'staticPodURLHeader',
  'address',
  'port',
  'readOnlyPort',
  'tlsCertFile',
  'tlsPrivateKeyFile',
  'tlsCipherSuites',
  'tlsMinVersion',
  'rotateCertificates',
  'serverTLSBootstrap',
  'authentication',
  'authorization',
  'registryPullQPS',
  'registryBurst',
  'eventRecordQPS',
  'eventBurst',
  'enableDebuggingHandlers',
  'enableContentionProfiling',
  'healthzPort',
  'healthzBindAddress',
  'oomScoreAdj',
  'clusterDomain',
  'clusterDNS',
  'streamingConnectionIdleTimeout',
  'nodeStatusUpdateFrequency',
  'nodeStatusReportFrequency',
  'nodeLeaseDurationSeconds',
  'imageMinimumGCAge',
  'imageMaximumGCAge',
  'imageGCHighThresholdPercent',
  'imageGCLowThresholdPercent',
  'volumeStatsAggPeriod',
  'kubeletCgroups',
  'systemCgroups',
  'cgroupRoot',
  'cgroupsPerQOS',
  'cgroupDriver',
  'cpuManagerPolicy',
  'cpuManagerPolicyOptions',
  'cpuManagerReconcilePeriod',
  'memoryManagerPolicy',
  'topologyManagerPolicy',
  'topologyManagerScope',
  'topologyManagerPolicyOptions',
  'qosReserved',
  'runtimeRequestTimeout',
  'hairpinMode',
  'maxPods',
  'podCIDR',
  'podPidsLimit',
  'resolvConf',
  'runOnce',
  'cpuCFSQuota',
  'cpuCFSQuotaPeriod',
  'nodeStatusMaxImages',
  'maxOpenFiles',
  'contentType',
  'kubeAPIQPS',
  'kubeAPIBurst',
  'serializeImagePulls',
  'maxParallelImagePulls',
  'evictionHard',
  'evictionSoft',
  'evictionSoftGracePeriod',
  'evictionPressureTransitionPeriod',
  'evictionMaxPodGracePeriod',
  'evictionMinimumReclaim',
  'podsPerCore',
  'enableControllerAttachDetach',
  'protectKernelDefaults',
  'makeIPTablesUtilChains',
  'iptablesMasqueradeBit',
  'iptablesDropBit',
  'featureGates',
  'failSwapOn',
  'memorySwap',
  'containerLogMaxSize',
  'containerLogMaxFiles',
  'containerLogMaxWorkers',
  'containerLogMonitorInterval',
  'configMapAndSecretChangeDetectionStrategy',
  'systemReserved',
  'kubeReserved',
  'reservedSystemCPUs',
  'showHiddenMetricsForVersion',
  'systemReservedCgroup',
  'kubeReservedCgroup',
  'enforceNodeAllocatable',
  'allowedUnsafeSysctls',
  'volumePluginDir',
  'providerID',
  'kernelMemcgNotification',
  'logging',
  'enableSystemLogHandler',
  'enableSystemLogQuery',
  'shutdownGracePeriod',
  'shutdownGracePeriodCriticalPods',
  'shutdownGracePeriodByPodPriority',
  'reservedMemory',
  'enableProfilingHandler',
  'enableDebugFlagsHandler',
  'seccompDefault',
  'memoryThrottlingFactor',
  'registerWithTaints',
  'registerNode',
  'tracing',
  'localStorageCapacityIsolation',
  'containerRuntimeEndpoint',
  'imageServiceEndpoint',
  'userNamespaces',
  'failCgroupV1',
]);

/** KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) of kube-proxy 1.27-1.31. */
export const kubeProxyFields: Fields = values([
  'apiVersion',
  'kind',
  'featureGates',
  'clientConnection',
  'logging',
  'hostnameOverride',
  'bindAddress',
  'healthzBindAddress',
  'metricsBindAddress',
  'bindAddressHardFail',
  'enableProfiling',
  'showHiddenMetricsForVersion',
  'mode',
  'iptables',
  'ipvs',
  'nftables',
  'winkernel',
  'linux',
  'syncPeriod',
  'minSyncPeriod',
  'detectLocalMode',
  'detectLocal',
  'clusterCIDR',
  'nodePortAddresses',
  'oomScoreAdj',
  'conntrack',
  'configSyncPeriod',
  'portRange',
  'windowsRunAsService',
]);

// The fields of kubeadm's config API (kubeadm.k8s.io v1beta3 and v1beta4) as kubeadm 1.27–1.31 decodes them
// strictly, so a document naming a field its apiVersion lacks fails with the path kubeadm's decoder reports.

/** A leaf takes any value (scalars, string maps); an object lists its fields; `[x]` is a list of x. */
export type FieldNode = 'leaf' | { [field: string]: FieldNode } | [FieldNode];

const L = 'leaf' as const;

const taint = { key: L, value: L, effect: L, timeAdded: L };
const nameValue = { name: L, value: L };
const envVar = { name: L, value: L, valueFrom: L };
const volume = { name: L, hostPath: L, mountPath: L, readOnly: L, pathType: L };
const bootstrapToken = { token: L, description: L, ttl: L, expires: L, usages: L, groups: L };
const localEndpoint = { advertiseAddress: L, bindPort: L };
const patches = { directory: L };
const timeouts = {
  controlPlaneComponentHealthCheck: L,
  kubeletHealthCheck: L,
  kubernetesAPICall: L,
  etcdAPICall: L,
  tlsBootstrap: L,
  discovery: L,
  upgradeManifests: L,
};
const externalEtcd = { endpoints: L, caFile: L, certFile: L, keyFile: L };

const nodeRegistrationV3 = {
  name: L,
  criSocket: L,
  taints: [taint] as [FieldNode],
  kubeletExtraArgs: L,
  ignorePreflightErrors: L,
  imagePullPolicy: L,
};
const nodeRegistrationV4 = {
  ...nodeRegistrationV3,
  kubeletExtraArgs: [nameValue] as [FieldNode],
  imagePullSerial: L,
};

const discovery = {
  bootstrapToken: { token: L, apiServerEndpoint: L, caCertHashes: L, unsafeSkipCAVerification: L },
  file: { kubeConfigPath: L },
  tlsBootstrapToken: L,
};

const v1beta3: Record<string, FieldNode> = {
  InitConfiguration: {
    bootstrapTokens: [bootstrapToken],
    nodeRegistration: nodeRegistrationV3,
    localAPIEndpoint: localEndpoint,
    certificateKey: L,
    skipPhases: L,
    patches,
  },
  ClusterConfiguration: {
    etcd: {
      local: {
        imageRepository: L,
        imageTag: L,
        dataDir: L,
        extraArgs: L,
        serverCertSANs: L,
        peerCertSANs: L,
      },
      external: externalEtcd,
    },
    networking: { serviceSubnet: L, podSubnet: L, dnsDomain: L },
    kubernetesVersion: L,
    controlPlaneEndpoint: L,
    apiServer: { extraArgs: L, extraVolumes: [volume], certSANs: L, timeoutForControlPlane: L },
    controllerManager: { extraArgs: L, extraVolumes: [volume] },
    scheduler: { extraArgs: L, extraVolumes: [volume] },
    dns: { imageRepository: L, imageTag: L },
    certificatesDir: L,
    imageRepository: L,
    featureGates: L,
    clusterName: L,
  },
  JoinConfiguration: {
    nodeRegistration: nodeRegistrationV3,
    caCertPath: L,
    discovery: { ...discovery, timeout: L },
    controlPlane: { localAPIEndpoint: localEndpoint, certificateKey: L },
    skipPhases: L,
    patches,
  },
};

const component = (extra: Record<string, FieldNode>) => ({
  extraArgs: [nameValue] as [FieldNode],
  extraVolumes: [volume] as [FieldNode],
  extraEnvs: [envVar] as [FieldNode],
  ...extra,
});

const v1beta4: Record<string, FieldNode> = {
  InitConfiguration: {
    bootstrapTokens: [bootstrapToken],
    dryRun: L,
    nodeRegistration: nodeRegistrationV4,
    localAPIEndpoint: localEndpoint,
    certificateKey: L,
    skipPhases: L,
    patches,
    timeouts,
  },
  ClusterConfiguration: {
    etcd: {
      local: {
        imageRepository: L,
        imageTag: L,
        dataDir: L,
        extraArgs: [nameValue],
        extraEnvs: [envVar],
        serverCertSANs: L,
        peerCertSANs: L,
      },
      external: externalEtcd,
    },
    networking: { serviceSubnet: L, podSubnet: L, dnsDomain: L },
    kubernetesVersion: L,
    controlPlaneEndpoint: L,
    apiServer: component({ certSANs: L }),
    controllerManager: component({}),
    scheduler: component({}),
    dns: { imageRepository: L, imageTag: L, disabled: L },
    proxy: { disabled: L },
    certificatesDir: L,
    imageRepository: L,
    featureGates: L,
    clusterName: L,
    encryptionAlgorithm: L,
    certificateValidityPeriod: L,
    caCertificateValidityPeriod: L,
  },
  JoinConfiguration: {
    dryRun: L,
    nodeRegistration: nodeRegistrationV4,
    caCertPath: L,
    discovery,
    controlPlane: { localAPIEndpoint: localEndpoint, certificateKey: L },
    skipPhases: L,
    patches,
    timeouts,
  },
  ResetConfiguration: {
    cleanupTmpDir: L,
    certificatesDir: L,
    criSocket: L,
    dryRun: L,
    force: L,
    ignorePreflightErrors: L,
    skipPhases: L,
    unmountFlags: L,
    timeouts,
  },
  UpgradeConfiguration: {
    apply: {
      kubernetesVersion: L,
      allowExperimentalUpgrades: L,
      allowRCUpgrades: L,
      certificateRenewal: L,
      dryRun: L,
      etcdUpgrade: L,
      forceUpgrade: L,
      ignorePreflightErrors: L,
      patches,
      printConfig: L,
      SkipPhases: L,
    },
    diff: { kubernetesVersion: L, contextLines: L },
    node: {
      certificateRenewal: L,
      dryRun: L,
      etcdUpgrade: L,
      ignorePreflightErrors: L,
      skipPhases: L,
      patches,
    },
    plan: {
      kubernetesVersion: L,
      allowExperimentalUpgrades: L,
      allowRCUpgrades: L,
      dryRun: L,
      ignorePreflightErrors: L,
      printConfig: L,
    },
    timeouts,
  },
};

export const KUBEADM_SCHEMAS: Record<string, Record<string, FieldNode>> = {
  'kubeadm.k8s.io/v1beta3': v1beta3,
  'kubeadm.k8s.io/v1beta4': v1beta4,
};

/** The unknown fields of `value` under `node`, as the strict decoder names them (`a.b[0].c`). */
export function unknownFields(value: unknown, node: FieldNode, path = ''): string[] {
  if (node === 'leaf' || value === null || value === undefined) return [];
  if (Array.isArray(node)) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => unknownFields(item, node[0], `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const child = node[k];
    const at = path ? `${path}.${k}` : k;
    if (child === undefined) out.push(at);
    else out.push(...unknownFields(v, child, at));
  }
  return out;
}

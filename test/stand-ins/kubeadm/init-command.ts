// `kubeadm init`: the phases in kubeadm's order, each skippable with --skip-phases (or skipPhases), on the
// settings from --config or the flags.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { caCertHash, generateToken } from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import {
  markControlPlane,
  storeClusterInfo,
  storeKubeadmConfig,
  storeKubeletConfig,
  storeToken,
  tokenFromConfig,
} from './cluster-objects.js';
import { clusterSettings, endpointOf, nodeSettings } from './cluster-settings.js';
import { bool, type FlagValues, list, parseDuration, str } from './cobra-flags.js';
import { KubeadmError, loadConfigDocs } from './config-load.js';
import {
  certsPhase,
  controlPlanePhase,
  controlPlaneSpec,
  etcdPhase,
  kubeconfigPhase,
  waitForApiServer,
} from './control-plane-node.js';
import { ADMIN_CONF, kubeVersion, MANIFESTS_DIR, SUPER_ADMIN_CONF } from './kubeadm-paths.js';
import { bootstrapTokenRbac, clusterAdminsBinding, configReaders } from './kubeadm-rbac.js';
import { KubeClient } from './kubeconfig.js';
import { kubeletConfiguration, restartKubelet, writeKubeletFiles } from './kubelet-start.js';
import { dirAvailable, fileAvailable, portOpen, runPreflight } from './preflight.js';
import { newCertificateKey, uploadCerts } from './upload-certs.js';

type Log = (l: string) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForNode(client: KubeClient, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await client.get(`/api/v1/nodes/${name}`).catch(() => undefined)) return;
    await sleep(500);
  }
  throw new KubeadmError(`error execution phase mark-control-plane: nodes "${name}" not found`);
}

export async function runInit(values: FlagValues, log: Log): Promise<void> {
  const { gitVersion, minor } = kubeVersion();
  const configPath = str(values, 'config');
  const docs = configPath ? loadConfigDocs(readFileSync(configPath, 'utf8'), minor) : undefined;
  for (const w of docs?.warnings ?? []) log(`W${w}`);
  const initDoc: KubeObject = docs?.byKind.get('InitConfiguration') ?? {};
  const clusterDoc: KubeObject = docs?.byKind.get('ClusterConfiguration') ?? {
    ...(str(values, 'kubernetes-version') ? { kubernetesVersion: str(values, 'kubernetes-version') } : {}),
    ...(str(values, 'control-plane-endpoint')
      ? { controlPlaneEndpoint: str(values, 'control-plane-endpoint') }
      : {}),
    ...(str(values, 'image-repository') ? { imageRepository: str(values, 'image-repository') } : {}),
    networking: {
      ...(str(values, 'pod-network-cidr') ? { podSubnet: str(values, 'pod-network-cidr') } : {}),
      ...(str(values, 'service-cidr') ? { serviceSubnet: str(values, 'service-cidr') } : {}),
      ...(str(values, 'service-dns-domain') ? { dnsDomain: str(values, 'service-dns-domain') } : {}),
    },
    ...(list(values, 'apiserver-cert-extra-sans').length
      ? { apiServer: { certSANs: list(values, 'apiserver-cert-extra-sans') } }
      : {}),
  };
  const c = clusterSettings(clusterDoc, gitVersion, minor);
  const n = nodeSettings(
    {
      ...(str(values, 'node-name') ? { name: str(values, 'node-name') } : {}),
      ...(str(values, 'cri-socket') ? { criSocket: str(values, 'cri-socket') } : {}),
      ...(initDoc.nodeRegistration ?? {}),
    },
    initDoc.localAPIEndpoint ?? {
      ...(str(values, 'apiserver-advertise-address')
        ? { advertiseAddress: str(values, 'apiserver-advertise-address') }
        : {}),
      ...(str(values, 'apiserver-bind-port') ? { bindPort: Number(str(values, 'apiserver-bind-port')) } : {}),
    },
  );
  const skip = new Set([...list(values, 'skip-phases'), ...((initDoc.skipPhases as string[]) ?? [])]);
  const skipped = (phase: string) => skip.has(phase) || skip.has(phase.split('/')[0]);
  const phase = async (name: string, fn: () => Promise<void> | void) => {
    if (!skipped(name)) await fn();
  };
  log(`[init] Using Kubernetes version: ${c.kubernetesVersion}`);

  await phase('preflight', () =>
    runPreflight(
      [
        portOpen(n.bindPort),
        portOpen(10259),
        portOpen(10257),
        fileAvailable(`${MANIFESTS_DIR}/kube-apiserver.yaml`),
        fileAvailable(`${MANIFESTS_DIR}/kube-controller-manager.yaml`),
        fileAvailable(`${MANIFESTS_DIR}/kube-scheduler.yaml`),
        fileAvailable(`${MANIFESTS_DIR}/etcd.yaml`),
        portOpen(10250),
        portOpen(2379),
        portOpen(2380),
        dirAvailable(c.etcdDataDir),
      ],
      [...list(values, 'ignore-preflight-errors'), ...n.ignorePreflightErrors],
      log,
    ),
  );
  await phase('certs', () => certsPhase(c, n, minor, log));
  await phase('kubeconfig', () => kubeconfigPhase(c, n, minor, true, log));
  const spec = controlPlaneSpec(c, n);
  await phase('etcd/local', () => etcdPhase(spec, log));
  await phase('control-plane', () => controlPlanePhase(spec, log));
  const kubeletConfig = kubeletConfiguration(docs?.byKind.get('KubeletConfiguration'), c);
  await phase('kubelet-start', () => {
    writeKubeletFiles(
      kubeletConfig,
      {
        criSocket: n.criSocket,
        nodeName: n.name,
        hostname: hostname().toLowerCase(),
        ...(minor < 31 ? { podInfraImage: c.images.pause } : {}),
        extraArgs: n.kubeletExtraArgs,
      },
      log,
    );
    restartKubelet(log);
  });
  const admin = KubeClient.fromFile(ADMIN_CONF);
  const timeout =
    parseDuration(
      String(
        initDoc.timeouts?.controlPlaneComponentHealthCheck ??
          clusterDoc.apiServer?.timeoutForControlPlane ??
          '4m',
      ),
    ) ?? 240_000;
  await waitForApiServer(minor >= 29 ? KubeClient.fromFile(SUPER_ADMIN_CONF) : admin, timeout, log);
  if (minor >= 29) await clusterAdminsBinding(KubeClient.fromFile(SUPER_ADMIN_CONF), admin);
  await phase('upload-config/kubeadm', async () => {
    log(
      '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
    );
    await storeKubeadmConfig(admin, c.raw);
    await configReaders(admin);
  });
  await phase('upload-config/kubelet', async () => {
    log(
      '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster',
    );
    await storeKubeletConfig(admin, kubeletConfig);
  });
  let certificateKey = str(values, 'certificate-key') ?? (initDoc.certificateKey as string | undefined);
  await phase('upload-certs', async () => {
    if (!bool(values, 'upload-certs')) {
      log('[upload-certs] Skipping phase. Please see --upload-certs');
      return;
    }
    certificateKey ??= newCertificateKey();
    await uploadCerts(admin, c.certificatesDir, certificateKey);
    log('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
    if (!bool(values, 'skip-certificate-key-print'))
      log(`[upload-certs] Using certificate key:\n${certificateKey}`);
  });
  await phase('mark-control-plane', async () => {
    log(
      `[mark-control-plane] Marking the node ${n.name} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
    );
    await waitForNode(admin, n.name, timeout);
    await markControlPlane(admin, n.name, n.taints);
  });
  const tokens = ((initDoc.bootstrapTokens as KubeObject[]) ?? [{}]).map((t) =>
    tokenFromConfig({
      ...t,
      token: t.token ?? str(values, 'token') ?? generateToken(),
      ...(str(values, 'token-ttl') ? { ttl: str(values, 'token-ttl') } : {}),
    }),
  );
  await phase('bootstrap-token', async () => {
    log(`[bootstrap-token] Using token: ${tokens[0].token}`);
    for (const t of tokens) await storeToken(admin, t);
    await bootstrapTokenRbac(admin);
    log('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace');
    await storeClusterInfo(
      admin,
      `https://${endpointOf(c, n)}`,
      readFileSync(`${c.certificatesDir}/ca.crt`, 'utf8'),
    );
  });
  await phase('addon', () =>
    log('[addons] Skipping addons: the kubeadm stand-in deploys no CoreDNS or kube-proxy'),
  );
  log('\nYour Kubernetes control-plane has initialized successfully!\n');
  await phase('show-join-command', () => {
    const hash = caCertHash(readFileSync(`${c.certificatesDir}/ca.crt`, 'utf8'));
    const join = `kubeadm join ${endpointOf(c, n)} --token ${tokens[0].token} \\\n\t--discovery-token-ca-cert-hash ${hash}`;
    if (certificateKey && bool(values, 'upload-certs'))
      log(
        `You can now join any number of the control-plane node running the following command on each as root:\n\n  ${join} \\\n\t--control-plane --certificate-key ${certificateKey}\n`,
      );
    log(`Then you can join any number of worker nodes by running the following on each as root:\n\n${join}`);
  });
}

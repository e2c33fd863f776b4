// `kubeadm join`: token discovery with CA pinning, the TLS bootstrap kubeconfig for the kubelet, and for
// --control-plane the certificates (downloaded with the certificate key, or already placed), the etcd
// member added through etcd's API before the new member's manifest is written, and the control plane.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { KUBE_SYSTEM_CONFIGMAPS, markControlPlane } from './cluster-objects.js';
import { clusterSettings, nodeSettings } from './cluster-settings.js';
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
import { EtcdClient, initialCluster } from './etcd-members.js';
import { discover } from './join-discovery.js';
import { ADMIN_CONF, BOOTSTRAP_KUBELET_CONF, KUBELET_CONF, kubeVersion, PKI_DIR } from './kubeadm-paths.js';
import { KubeClient, kubeconfigYaml } from './kubeconfig.js';
import { restartKubelet, writeKubeletFiles } from './kubelet-start.js';
import { fileAvailable, portOpen, runPreflight } from './preflight.js';
import { downloadCerts } from './upload-certs.js';

type Log = (l: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runJoin(values: FlagValues, positional: string[], log: Log): Promise<void> {
  const { gitVersion, minor } = kubeVersion();
  const configPath = str(values, 'config');
  const docs = configPath ? loadConfigDocs(readFileSync(configPath, 'utf8'), minor) : undefined;
  for (const w of docs?.warnings ?? []) log(`W${w}`);
  const j: KubeObject = docs?.byKind.get('JoinConfiguration') ?? {};
  if (docs && !docs.byKind.has('JoinConfiguration'))
    throw new KubeadmError('no JoinConfiguration found in the supplied config');
  const bt = j.discovery?.bootstrapToken ?? {};
  const token = String(bt.token ?? str(values, 'discovery-token') ?? str(values, 'token') ?? '');
  const tlsToken = String(
    j.discovery?.tlsBootstrapToken ?? str(values, 'tls-bootstrap-token') ?? str(values, 'token') ?? token,
  );
  const endpoint = String(bt.apiServerEndpoint ?? positional[0] ?? '');
  const hashes: string[] = (bt.caCertHashes as string[]) ?? list(values, 'discovery-token-ca-cert-hash');
  const unsafe = Boolean(
    bt.unsafeSkipCAVerification ?? bool(values, 'discovery-token-unsafe-skip-ca-verification'),
  );
  const controlPlane = j.controlPlane ? true : bool(values, 'control-plane');
  const certificateKey =
    (j.controlPlane?.certificateKey as string | undefined) ?? str(values, 'certificate-key');
  if (!token || !endpoint)
    throw new KubeadmError('discovery: Invalid value: "": bootstrapToken or file must be set');
  const n = nodeSettings(
    {
      ...(str(values, 'node-name') ? { name: str(values, 'node-name') } : {}),
      ...(str(values, 'cri-socket') ? { criSocket: str(values, 'cri-socket') } : {}),
      ...(j.nodeRegistration ?? {}),
    },
    j.controlPlane?.localAPIEndpoint ?? {
      ...(str(values, 'apiserver-advertise-address')
        ? { advertiseAddress: str(values, 'apiserver-advertise-address') }
        : {}),
    },
  );
  const skip = new Set([...list(values, 'skip-phases'), ...((j.skipPhases as string[]) ?? [])]);
  const caPath = String(j.caCertPath ?? `${PKI_DIR}/ca.crt`);

  if (!skip.has('preflight'))
    await runPreflight(
      [
        fileAvailable(KUBELET_CONF),
        ...(controlPlane ? [] : [fileAvailable(caPath)]),
        portOpen(10250),
        ...(controlPlane ? [portOpen(n.bindPort), portOpen(2379), portOpen(2380)] : []),
      ],
      [...list(values, 'ignore-preflight-errors'), ...n.ignorePreflightErrors],
      log,
    );
  const timeout = parseDuration(String(j.timeouts?.discovery ?? j.discovery?.timeout ?? '5m')) ?? 300_000;
  const found = await discover(endpoint, token, hashes, unsafe, timeout, log).catch((e: Error) => {
    throw new KubeadmError(`error execution phase preflight: ${e.message}`);
  });
  log(
    `[discovery] Cluster info signature and contents are valid and no TLS pinning was specified, will use API Server "${endpoint}"`,
  );
  const bootstrap = new KubeClient({ server: found.server, caPem: found.caPem, token: tlsToken });
  log('[preflight] Reading configuration from the cluster...');
  const kubeadmConfig = await bootstrap.get(`${KUBE_SYSTEM_CONFIGMAPS}/kubeadm-config`);
  const kubeletConfigMap = await bootstrap.get(`${KUBE_SYSTEM_CONFIGMAPS}/kubelet-config`);
  if (!kubeadmConfig || !kubeletConfigMap)
    throw new KubeadmError(
      'error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: configmaps "kubeadm-config" not found',
    );
  const clusterDoc = parseYamlSubset(String(kubeadmConfig.data?.ClusterConfiguration ?? '')) as KubeObject;
  const kubeletConfig = parseYamlSubset(String(kubeletConfigMap.data?.kubelet ?? '')) as KubeObject;
  const c = clusterSettings(clusterDoc, gitVersion, minor);

  if (controlPlane) {
    if (certificateKey) {
      log(
        '[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace',
      );
      await downloadCerts(bootstrap, c.certificatesDir, certificateKey);
    } else if (!existsSync(`${c.certificatesDir}/ca.key`)) {
      throw new KubeadmError(
        "error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n[failure loading certificate for CA: couldn't load the certificate file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory]\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.",
      );
    }
    await certsPhase(c, n, minor, log);
    await kubeconfigPhase(c, n, minor, false, log);
    const spec = controlPlaneSpec(c, n);
    controlPlanePhase(spec, log);
    const admin = KubeClient.fromFile(ADMIN_CONF);
    // the etcd members' client URLs come from the etcd mirror pods' annotation, as in kubeadm
    let endpoints: string[] = [];
    for (let i = 0; i < 60 && !endpoints.length; i++) {
      if (i) await sleep(1_000);
      const etcdPods = await admin.get('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Detcd');
      endpoints = ((etcdPods?.items as KubeObject[]) ?? [])
        .map((p) => p.metadata?.annotations?.['kubeadm.kubernetes.io/etcd.advertise-client-urls'])
        .filter((u): u is string => typeof u === 'string');
    }
    if (!endpoints.length)
      throw new KubeadmError(
        'error execution phase control-plane-join/etcd: etcd cluster is not healthy: no etcd endpoints found in the etcd Pods',
      );
    const peerURL = `https://${n.advertiseAddress}:2380`;
    const etcd = new EtcdClient(endpoints, c.certificatesDir);
    const known = await etcd.list();
    const members = known.some((m) => m.peerURLs.includes(peerURL))
      ? known
      : await etcd.addWithRetry(peerURL, log);
    log(`[etcd] Announced new etcd member joining to the existing etcd cluster`);
    etcdPhase(controlPlaneSpec(c, n, initialCluster(members, n.name, peerURL)), log);
  } else {
    mkdirSync(PKI_DIR, { recursive: true });
    writeFileSync(caPath, found.caPem);
  }
  writeFileSync(
    BOOTSTRAP_KUBELET_CONF,
    kubeconfigYaml({
      clusterName: c.clusterName,
      server: found.server,
      caPem: found.caPem,
      user: 'tls-bootstrap-token-user',
      token: tlsToken,
    }),
    { mode: 0o600 },
  );
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
  log('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...');
  const deadline = Date.now() + (parseDuration(String(j.timeouts?.tlsBootstrap ?? '5m')) ?? 300_000);
  for (let i = 0; i < 10_000 && !existsSync(KUBELET_CONF); i++) {
    if (Date.now() > deadline)
      throw new KubeadmError('error execution phase kubelet-start: timed out waiting for the condition');
    await sleep(500);
  }
  rmSync(BOOTSTRAP_KUBELET_CONF, { force: true });
  if (controlPlane) {
    const admin = KubeClient.fromFile(ADMIN_CONF);
    await waitForApiServer(admin, 240_000, log);
    for (let i = 0; i < 600 && !(await admin.get(`/api/v1/nodes/${n.name}`).catch(() => undefined)); i++)
      await sleep(500);
    await markControlPlane(admin, n.name, n.taints);
    log('\nThis node has joined the cluster and a new control plane instance was created');
  } else {
    log(
      '\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.',
    );
  }
}

// Entry point of the kubelet stand-in, run as kubelet.service with the flags kubeadm's drop-in passes
// (--config, --kubeconfig, --bootstrap-kubeconfig and $KUBELET_KUBEADM_ARGS): static pods from staticPodPath,
// the TLS bootstrap through a CSR when only the bootstrap kubeconfig exists, the Node registered and turned
// Ready once the CRI answers and the sandbox image is pulled through it, mirror pods for the static pods,
// and pod images pulled like the k3s stand-in's kubelet.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { criImageStatus, criPullImage, criVersion } from '../k3s/cri-client.js';
import { detectNodeIp } from '../k3s/host-address.js';
import { heartbeatStatus, parseTaint } from '../k3s/node-object.js';
import { newCsr, newEcKey } from '../k3s/openssl-pki.js';
import { PodKubelet } from '../k3s/pod-kubelet.js';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { FlagError, parseFlags, str } from '../kubeadm/cobra-flags.js';
import { type ApiCallError, KubeClient, kubeconfigYaml, parseKubeconfig } from '../kubeadm/kubeconfig.js';
import { kubeletNode, mirrorPod } from './node-status.js';
import { StaticPods } from './static-pods.js';

const log = (l: string) =>
  process.stderr.write(
    `I${new Date().toISOString().slice(5, 23).replace('T', ' ')} ${process.pid} kubelet] ${l}\n`,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FLAGS = [
  'config',
  'kubeconfig',
  'bootstrap-kubeconfig',
  'container-runtime-endpoint',
  'image-service-endpoint',
  'pod-infra-container-image',
  'hostname-override',
  'node-ip',
  'node-labels',
  'register-with-taints',
  'cgroup-driver',
  'cert-dir',
  'root-dir',
  'v',
  'fail-swap-on',
  'runtime-request-timeout',
  'max-pods',
  'provider-id',
  'cloud-provider',
  'network-plugin',
  'resolv-conf',
];

async function tlsBootstrap(
  kubeconfig: string,
  bootstrapPath: string,
  certDir: string,
  nodeName: string,
): Promise<void> {
  const boot = parseKubeconfig(readFileSync(bootstrapPath, 'utf8'));
  const client = new KubeClient(boot);
  const key = newEcKey();
  const request = await newCsr(key, `system:node:${nodeName}`, 'system:nodes');
  const name = `csr-${Math.random().toString(36).slice(2, 7)}`;
  await client.call('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(request).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
    },
  });
  log(`Waiting for client certificate of CSR ${name}`);
  for (let i = 0; i < 600; i++) {
    const csr = await client
      .get(`/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`)
      .catch(() => undefined);
    const cert = csr?.status?.certificate;
    if (cert) {
      const pem = `${Buffer.from(cert, 'base64').toString('utf8')}${key}`;
      mkdirSync(certDir, { recursive: true });
      const current = `${certDir}/kubelet-client-current.pem`;
      writeFileSync(current, pem, { mode: 0o600 });
      writeFileSync(
        kubeconfig,
        kubeconfigYaml({
          clusterName: 'default-cluster',
          server: boot.server,
          caPem: boot.caPem,
          user: 'default-auth',
          clientPemFile: current,
        }),
        { mode: 0o600 },
      );
      log('Client certificate signed; wrote the kubelet kubeconfig');
      return;
    }
    await sleep(500);
  }
  throw new Error(`CSR ${name} was not signed in time`);
}

async function sandboxImageReady(socket: string, image: string): Promise<boolean> {
  try {
    await criVersion(socket);
    if (!(await criImageStatus(socket, image))) {
      log(`Pulling sandbox image "${image}"`);
      await criPullImage(socket, image);
    }
    return true;
  } catch (e) {
    log(`Container runtime not ready: ${(e as Error).message}`);
    return false;
  }
}

const versionInfo = (info: KubeObject) => ({
  kubeletVersion: info.kubeletVersion,
  kubeProxyVersion: info.kubeProxyVersion,
});

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(process.argv.slice(2), [
      ...FLAGS.map((name) => ({ name, kind: 'string' as const })),
      { name: 'help', kind: 'bool' as const, short: 'h' },
    ]);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(
        `E${new Date().toISOString()} ${process.pid} run.go:74] "command failed" err="failed to parse kubelet flag: ${e.message}"\n`,
      );
      process.exit(1);
    }
    throw e;
  }
  const v = parsed.values;
  const configPath = str(v, 'config');
  const config = (
    configPath && existsSync(configPath) ? parseYamlSubset(readFileSync(configPath, 'utf8')) : {}
  ) as KubeObject;
  const nodeName = (str(v, 'hostname-override') ?? hostname()).toLowerCase();
  const socket = (
    str(v, 'container-runtime-endpoint') ??
    config.containerRuntimeEndpoint ??
    'unix:///var/run/containerd/containerd.sock'
  ).replace(/^unix:\/\//, '');
  const sandboxImage = str(v, 'pod-infra-container-image') ?? 'registry.k8s.io/pause:3.9';
  // without staticPodPath (k0s's kubelet config) the kubelet runs no static pods, as the real one
  const staticPods = new StaticPods(config.staticPodPath ?? '', log);
  staticPods.start();
  const stop = async () => {
    await staticPods.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

  const kubeconfig = str(v, 'kubeconfig');
  if (!kubeconfig) {
    log('No kubeconfig given: running in standalone mode (static pods only)');
    return;
  }
  const bootstrap = str(v, 'bootstrap-kubeconfig');
  for (let i = 0; i < 100_000 && !existsSync(kubeconfig); i++) {
    if (bootstrap && existsSync(bootstrap)) {
      try {
        await tlsBootstrap(
          kubeconfig,
          bootstrap,
          str(v, 'cert-dir') ?? `${dirname(configPath ?? '/var/lib/kubelet/x')}/pki`,
          nodeName,
        );
        break;
      } catch (e) {
        log(`TLS bootstrap failed: ${(e as Error).message}`);
      }
    }
    await sleep(2_000);
  }
  const client = KubeClient.fromFile(kubeconfig);
  const internalIp = str(v, 'node-ip') ?? detectNodeIp();
  const taints = (str(v, 'register-with-taints') ?? '').split(',').filter(Boolean).map(parseTaint);
  const labels = Object.fromEntries(
    (str(v, 'node-labels') ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [
        kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')),
        kv.slice(kv.indexOf('=') + 1),
      ]),
  );
  let ready = false;
  const mirrorRefused = new Set<string>();
  let podsStarted = false;
  const startPods = () => {
    if (podsStarted) return;
    podsStarted = true;
    podKubelet.start();
  };
  const podKubelet = new PodKubelet(socket, {
    pods: async () =>
      ((await client.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${nodeName}`))?.items ?? []).filter(
        (p: KubeObject) => !p.metadata?.annotations?.['kubernetes.io/config.mirror'],
      ),
    node: () => client.get(`/api/v1/nodes/${nodeName}`),
    writeStatus: async (pod, status) => {
      await client.call(
        'PUT',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        { ...pod, status },
      );
    },
  });
  for (let i = 0; ; i++) {
    try {
      if (!ready) ready = await sandboxImageReady(socket, sandboxImage);
      const path = `/api/v1/nodes/${nodeName}`;
      const node = await client.get(path);
      if (!node) {
        await client.call('POST', '/api/v1/nodes', kubeletNode(nodeName, internalIp, taints, ready, labels));
        log(`Successfully registered node ${nodeName}`);
        if (ready) startPods();
      } else {
        const wasReady = node.status?.conditions?.some(
          (c: KubeObject) => c.type === 'Ready' && c.status === 'True',
        );
        const fresh = kubeletNode(nodeName, internalIp, taints, false).status;
        const status = ready ? heartbeatStatus(node, new Date()) : fresh;
        // a restarted (upgraded) kubelet reports its own version, as a real one does on start
        const nodeInfo = { ...node.status?.nodeInfo, ...versionInfo(fresh.nodeInfo) };
        await client.call('PUT', `${path}/status`, {
          ...node,
          status: { ...node.status, ...status, nodeInfo },
        });
        if (ready && !wasReady) log(`Node ${nodeName} is Ready`);
        // a restarted kubelet finds its Node Ready already and must still run its pods
        if (ready) startPods();
      }
      for (const p of staticPods.pods()) {
        const mirror = mirrorPod(p, nodeName, internalIp);
        const at = `/api/v1/namespaces/${mirror.metadata.namespace}/pods`;
        if (await client.get(`${at}/${mirror.metadata.name}`)) continue;
        await client.call('POST', at, mirror).catch((e: ApiCallError) => {
          // tried again on every status loop, said once
          if (!mirrorRefused.has(mirror.metadata.name))
            log(`Failed creating a mirror pod for ${mirror.metadata.name}: ${e.message}`);
          mirrorRefused.add(mirror.metadata.name);
        });
      }
    } catch (e) {
      log(`Unable to update node status: ${(e as Error).message}`);
    }
    await sleep(i < 30 ? 1_000 : 10_000);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`kubelet: ${e.message}\n`);
  process.exit(1);
});

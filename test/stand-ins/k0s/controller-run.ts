// `k0s controller`: the ClusterConfig checked and copied to /run/k0s/k0s.yaml, the components staged in
// <data-dir>/bin, the PKI (taken over from the controller a controller token names when this node has not
// joined yet, that is while its etcd data dir is empty), etcd, the kube-apiserver stand-in with k0s's flags,
// the cluster objects k0s keeps, the controller-manager's token and CSR duties, the k0s API for joining
// controllers, the status socket and, with --enable-worker or --single, this node's worker.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { klog } from '../k3s/standin-log.js';
import { SECRETS } from '../kubeadm/cluster-objects.js';
import { bool, type FlagValues, list, str } from '../kubeadm/cobra-flags.js';
import { KubeClient } from '../kubeadm/kubeconfig.js';
import { toYaml } from '../kubeadm/yaml-write.js';
import { ControllerManagerDuties } from '../kubelet/control-plane-duties.js';
import type { ClusterSettings } from './cluster-config.js';
import { ControllerLeases, ensureSystemRbac, ensureWorkerConfigs } from './cluster-objects.js';
import { Component } from './component-supervisor.js';
import { stageBinaries } from './embedded-binaries.js';
import { type EtcdJoin, etcdComponent, etcdMemberName, localEtcdClient } from './etcd-component.js';
import { decodeJoinTokenFor, joinUrl, newTokenSecret, tokenKubeconfig } from './join-token.js';
import { joinCall, serveK0sApi } from './k0s-api.js';
import { type K0sPaths, k0sVersion, RUN_DIR } from './k0s-paths.js';
import { ensureControllerPki, writeSharedPki } from './k0s-pki.js';
import { serveStatus } from './status-socket.js';
import { WorkerComponents } from './worker-components.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(e as Error).message}`);
      await sleep(1_000);
    }
  }
}

function apiserverArgs(p: K0sPaths, c: ClusterSettings): string[] {
  const args: Record<string, string> = {
    'advertise-address': c.address,
    'secure-port': String(c.port),
    'bind-address': '0.0.0.0',
    'etcd-servers': 'https://127.0.0.1:2379',
    'etcd-cafile': join(p.etcdPki, 'ca.crt'),
    'etcd-certfile': join(p.pki, 'apiserver-etcd-client.crt'),
    'etcd-keyfile': join(p.pki, 'apiserver-etcd-client.key'),
    'tls-cert-file': join(p.pki, 'server.crt'),
    'tls-private-key-file': join(p.pki, 'server.key'),
    'client-ca-file': join(p.pki, 'ca.crt'),
    'kubelet-client-certificate': join(p.pki, 'apiserver-kubelet-client.crt'),
    'kubelet-client-key': join(p.pki, 'apiserver-kubelet-client.key'),
    'service-account-key-file': join(p.pki, 'sa.pub'),
    'service-account-signing-key-file': join(p.pki, 'sa.key'),
    'service-account-issuer': 'https://kubernetes.default.svc',
    'service-cluster-ip-range': c.serviceCIDR,
    'authorization-mode': 'Node,RBAC',
    'enable-bootstrap-token-auth': 'true',
    'allow-privileged': 'true',
    'anonymous-auth': 'false',
    profiling: 'false',
    v: '1',
    ...c.apiExtraArgs,
  };
  if (c.externalAddress) args['endpoint-reconciler-type'] = 'none';
  return Object.entries(args).map(([k, v]) => `--${k}=${v}`);
}

/** A worker token of this controller's own, for its kubelet's TLS bootstrap (--enable-worker). */
async function ownKubeletBootstrap(p: K0sPaths, c: ClusterSettings, admin: KubeClient): Promise<void> {
  if (existsSync(p.kubeletConf) || existsSync(p.kubeletBootstrapConf)) return;
  const { token, secret } = newTokenSecret('worker', new Date(Date.now() + 3_600_000));
  await admin.call('POST', SECRETS, secret);
  const ca = readFileSync(join(p.pki, 'ca.crt'), 'utf8');
  writeFileSync(p.kubeletBootstrapConf, tokenKubeconfig('worker', `https://localhost:${c.port}`, ca, token), {
    mode: 0o600,
  });
}

export async function runController(
  p: K0sPaths,
  c: ClusterSettings,
  values: FlagValues,
  token: string | undefined,
): Promise<void> {
  const { k0s, minor } = k0sVersion();
  const single = bool(values, 'single');
  const withWorker = single || bool(values, 'enable-worker');
  process.title = 'k0s';
  klog.info(`k0s ${k0s} starting as controller${withWorker ? '+worker' : ''}`);
  mkdirSync(RUN_DIR, { recursive: true });
  writeFileSync(p.runtimeConfig, toYaml(c.doc), { mode: 0o600 });
  stageBinaries(p, { controller: true, worker: withWorker });

  const joined = existsSync(p.etcdData) && readdirSync(p.etcdData).length > 0;
  let etcdJoin: EtcdJoin | undefined;
  const joinToken = !joined && token ? decodeJoinTokenFor('controller', token) : undefined;
  if (joinToken) {
    klog.info(`Joining the cluster through ${joinToken.server}`);
    writeSharedPki(p, (await joinCall(joinToken, 'GET', '/v1beta1/ca')).files);
  }
  await ensureControllerPki(p, c, hostname().toLowerCase());
  if (joinToken) {
    const r = await joinCall(joinToken, 'POST', '/v1beta1/etcd/members', {
      node: etcdMemberName(),
      peerAddress: c.peerAddress,
    });
    etcdJoin = { initialCluster: r.initialCluster };
  }
  mkdirSync(p.etcdData, { recursive: true, mode: 0o700 });
  const etcd = etcdComponent(p, c, etcdJoin);
  etcd.start();
  await waitFor('etcd', 120_000, () => localEtcdClient(p).list());
  klog.info('etcd is up');

  const apiserver = new Component('kube-apiserver', join(p.bin, 'kube-apiserver'), apiserverArgs(p, c));
  apiserver.start();
  const admin = KubeClient.fromFile(p.adminConf);
  await waitFor('kube-apiserver', 120_000, () => admin.get('/readyz'));
  klog.info('kube-apiserver is up');

  await ensureSystemRbac(admin, c, minor);
  await ensureWorkerConfigs(admin, c, minor, { add: `${c.address}:${c.port}` });
  const leases = new ControllerLeases(admin, c.address, c.port, (addrs) =>
    ensureWorkerConfigs(admin, c, minor, addrs),
  );
  leases.start();
  const duties = new ControllerManagerDuties(
    [
      `--kubeconfig=${p.ccmConf}`,
      `--cluster-signing-cert-file=${join(p.pki, 'ca.crt')}`,
      `--cluster-signing-key-file=${join(p.pki, 'ca.key')}`,
    ],
    (l) => klog.info(l),
  );
  duties.start();
  const k0sApi = await serveK0sApi(p, c.k0sApiPort, admin);

  const status: Server = await serveStatus(p.statusSocket, () => ({
    Version: k0s,
    Pid: process.pid,
    PPid: process.ppid,
    Role: withWorker ? 'controller+worker' : 'controller',
    SysInit: '',
    StubFile: '',
    Workloads: withWorker,
    SingleNode: single,
    DataDir: p.dataDir,
    ...(withWorker ? { WorkerToAPIConnectionStatus: { Success: true, Message: '' } } : {}),
  }));
  let worker: WorkerComponents | undefined;
  if (withWorker) {
    await ownKubeletBootstrap(p, c, admin);
    const labels = ['node-role.kubernetes.io/control-plane=true', ...list(values, 'labels')];
    const taints = [
      ...(single || bool(values, 'no-taints') ? [] : ['node-role.kubernetes.io/control-plane=:NoSchedule']),
      ...list(values, 'taints'),
    ];
    worker = new WorkerComponents(p, {
      profile: str(values, 'profile') ?? 'default',
      labels,
      taints,
      kubeletExtraArgs: str(values, 'kubelet-extra-args') ?? '',
      ...(str(values, 'cri-socket') ? { criSocket: str(values, 'cri-socket') } : {}),
      minor,
      onController: true,
    });
    await worker.start();
  }
  klog.info('k0s controller is running');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    klog.info('Shutting down k0s controller');
    status.close();
    await worker?.stop();
    k0sApi.close();
    k0sApi.closeAllConnections();
    duties.stop();
    await leases.stop();
    await apiserver.stop();
    await etcd.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/** The join URLs tokens name: the API for workers, the k0s API for controllers. */
export function tokenServer(c: ClusterSettings, role: 'worker' | 'controller'): string {
  return joinUrl(c.externalAddress || c.address, role === 'worker' ? c.port : c.k0sApiPort);
}

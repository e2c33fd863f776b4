// The phases that make a node a control-plane node, shared by `init` and `join --control-plane`: certs,
// kubeconfigs, the etcd and control-plane static pod manifests, and waiting for the API server to answer.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../kube-api/kube-object.js';
import type { ClusterSettings, NodeSettings } from './cluster-settings.js';
import { endpointOf } from './cluster-settings.js';
import { KubeadmError } from './config-load.js';
import {
  ADMIN_CONF,
  CONTROLLER_MANAGER_CONF,
  KUBELET_CONF,
  MANIFESTS_DIR,
  SCHEDULER_CONF,
  SUPER_ADMIN_CONF,
} from './kubeadm-paths.js';
import type { KubeClient } from './kubeconfig.js';
import { nthAddress } from './kubelet-start.js';
import { adminGroup, ensureControlPlanePki, ensureKubeconfigs } from './pki-files.js';
import {
  apiserverManifest,
  type ControlPlaneSpec,
  controllerManagerManifest,
  etcdManifest,
  schedulerManifest,
} from './static-pod-manifests.js';
import { toYaml } from './yaml-write.js';

type Log = (l: string) => void;

export async function certsPhase(
  c: ClusterSettings,
  n: NodeSettings,
  minor: number,
  log: Log,
): Promise<void> {
  log(`[certs] Using certificateDir folder "${c.certificatesDir}"`);
  const endpointHost = c.controlPlaneEndpoint?.replace(/:\d+$/, '');
  await ensureControlPlanePki(
    c.certificatesDir,
    {
      nodeName: n.name,
      advertiseAddress: n.advertiseAddress,
      apiServiceIp: nthAddress(c.serviceSubnet, 1),
      dnsDomain: c.dnsDomain,
      ...(endpointHost ? { controlPlaneEndpointHost: endpointHost } : {}),
      certSANs: c.certSANs,
      etcdServerSANs: c.etcdServerSANs,
      etcdPeerSANs: c.etcdPeerSANs,
    },
    minor,
    log,
  );
}

/** admin, super-admin (1.29+, init only), kubelet (init only), controller-manager and scheduler. */
export async function kubeconfigPhase(
  c: ClusterSettings,
  n: NodeSettings,
  minor: number,
  init: boolean,
  log: Log,
): Promise<void> {
  log('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"');
  const endpoint = `https://${endpointOf(c, n)}`;
  const local = `https://${n.advertiseAddress}:${n.bindPort}`;
  const targets = [
    { path: ADMIN_CONF, user: 'kubernetes-admin', org: adminGroup(minor), server: endpoint },
    ...(init && minor >= 29
      ? [{ path: SUPER_ADMIN_CONF, user: 'kubernetes-super-admin', org: 'system:masters', server: endpoint }]
      : []),
    ...(init
      ? [{ path: KUBELET_CONF, user: `system:node:${n.name}`, org: 'system:nodes', server: endpoint }]
      : []),
    { path: CONTROLLER_MANAGER_CONF, user: 'system:kube-controller-manager', server: local },
    { path: SCHEDULER_CONF, user: 'system:kube-scheduler', server: local },
  ];
  await ensureKubeconfigs(c.certificatesDir, c.clusterName, targets, log);
}

export function controlPlaneSpec(
  c: ClusterSettings,
  n: NodeSettings,
  initialCluster?: string[],
): ControlPlaneSpec {
  return {
    nodeName: n.name,
    advertiseAddress: n.advertiseAddress,
    bindPort: n.bindPort,
    serviceSubnet: c.serviceSubnet,
    ...(c.podSubnet ? { podSubnet: c.podSubnet } : {}),
    dnsDomain: c.dnsDomain,
    clusterName: c.clusterName,
    certificatesDir: c.certificatesDir,
    etcdDataDir: c.etcdDataDir,
    images: c.images,
    extraArgs: c.extra,
    ...(initialCluster ? { initialCluster } : {}),
  };
}

function writeManifest(name: string, pod: KubeObject, log: Log): void {
  mkdirSync(MANIFESTS_DIR, { recursive: true });
  writeFileSync(join(MANIFESTS_DIR, `${name}.yaml`), toYaml(pod), { mode: 0o600 });
  log(`[control-plane] Creating static Pod manifest for "${name}"`);
}

export function etcdPhase(spec: ControlPlaneSpec, log: Log): void {
  mkdirSync(spec.etcdDataDir, { recursive: true, mode: 0o700 });
  mkdirSync(MANIFESTS_DIR, { recursive: true });
  writeFileSync(join(MANIFESTS_DIR, 'etcd.yaml'), toYaml(etcdManifest(spec)), { mode: 0o600 });
  log(`[etcd] Creating static Pod manifest for local etcd in "${MANIFESTS_DIR}"`);
}

export function controlPlanePhase(spec: ControlPlaneSpec, log: Log): void {
  log(`[control-plane] Using manifest folder "${MANIFESTS_DIR}"`);
  writeManifest('kube-apiserver', apiserverManifest(spec), log);
  writeManifest('kube-controller-manager', controllerManagerManifest(spec), log);
  writeManifest('kube-scheduler', schedulerManifest(spec), log);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** wait-control-plane: polls the API server's /healthz with the admin credentials. */
export async function waitForApiServer(client: KubeClient, timeoutMs: number, log: Log): Promise<void> {
  log(
    `[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "${MANIFESTS_DIR}". This can take up to ${Math.round(timeoutMs / 60_000)}m0s`,
  );
  const started = Date.now();
  let last = '';
  for (let i = 0; i < 100_000 && Date.now() - started < timeoutMs; i++) {
    try {
      await client.call('GET', '/healthz', undefined, 3_000);
      log(
        `[apiclient] All control plane components are healthy after ${((Date.now() - started) / 1000).toFixed(6)} seconds`,
      );
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(500);
  }
  throw new KubeadmError(
    `error execution phase wait-control-plane: couldn't initialize a Kubernetes cluster: timed out waiting for the condition (last error: ${last})`,
  );
}

// Where k0s v1.28–v1.30 keeps its files (pkg/config/cfgvars.go and the constants): the data dir (default
// /var/lib/k0s, moved with --data-dir), the fixed run dir /run/k0s and /etc/k0s. Also the version the
// bundle was written for, baked in by install.ts.
import { join } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/k0s';
export const RUN_DIR = '/run/k0s';
export const ETC_DIR = '/etc/k0s';
export const DEFAULT_CONFIG = '/etc/k0s/k0s.yaml';
export const CONTAINERD_TOML = '/etc/k0s/containerd.toml';
export const CONTAINERD_DROPINS = '/etc/k0s/containerd.d';
export const CNI_LEFTOVERS = [
  '/etc/cni/net.d/10-calico.conflist',
  '/etc/cni/net.d/calico-kubeconfig',
  '/etc/cni/net.d/10-kuberouter.conflist',
];

export function k0sPaths(dataDir = DEFAULT_DATA_DIR) {
  const pki = join(dataDir, 'pki');
  return {
    dataDir,
    bin: join(dataDir, 'bin'),
    pki,
    etcdPki: join(pki, 'etcd'),
    adminConf: join(pki, 'admin.conf'),
    ccmConf: join(pki, 'ccm.conf'),
    schedulerConf: join(pki, 'scheduler.conf'),
    konnectivityConf: join(pki, 'konnectivity.conf'),
    etcdData: join(dataDir, 'etcd'),
    manifests: join(dataDir, 'manifests'),
    kubeletRoot: join(dataDir, 'kubelet'),
    kubeletConf: join(dataDir, 'kubelet.conf'),
    kubeletBootstrapConf: join(dataDir, 'kubelet-bootstrap.conf'),
    kubeletConfig: join(dataDir, 'kubelet-config.yaml'),
    nllbUpstreams: join(dataDir, 'nllb-upstreams.json'),
    containerdRoot: join(dataDir, 'containerd'),
    images: join(dataDir, 'images'),
    statusSocket: join(RUN_DIR, 'status.sock'),
    runtimeConfig: join(RUN_DIR, 'k0s.yaml'),
    containerdSocket: join(RUN_DIR, 'containerd.sock'),
    containerdState: join(RUN_DIR, 'containerd'),
    criConfig: join(RUN_DIR, 'containerd-cri.toml'),
  };
}

export type K0sPaths = ReturnType<typeof k0sPaths>;

/** `v1.29.4+k0s.0` from the bundle (BERTH_STANDIN_K0S_VERSION), and the Kubernetes version it carries. */
export function k0sVersion(): { k0s: string; kube: string; minor: number } {
  const k0s = process.env.BERTH_STANDIN_K0S_VERSION || 'v1.29.4+k0s.0';
  const kube = k0s.replace(/\+.*$/, '');
  return { k0s, kube, minor: Number(/^v1\.(\d+)/.exec(kube)?.[1] ?? 29) };
}

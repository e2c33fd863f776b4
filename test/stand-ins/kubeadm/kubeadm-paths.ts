// Where kubeadm keeps things (fixed paths, as in kubeadm's constants) and which kubeadm this stand-in is:
// the installer bakes the Kubernetes version (1.27–1.31) into the launcher as BERTH_STANDIN_KUBE_VERSION.

export const KUBERNETES_DIR = '/etc/kubernetes';
export const PKI_DIR = '/etc/kubernetes/pki';
export const MANIFESTS_DIR = '/etc/kubernetes/manifests';
export const TMP_DIR = '/etc/kubernetes/tmp';
export const KUBELET_DIR = '/var/lib/kubelet';
export const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';
export const KUBELET_FLAGS_ENV = '/var/lib/kubelet/kubeadm-flags.env';
export const ETCD_DATA_DIR = '/var/lib/etcd';
export const ADMIN_CONF = '/etc/kubernetes/admin.conf';
export const SUPER_ADMIN_CONF = '/etc/kubernetes/super-admin.conf';
export const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
export const BOOTSTRAP_KUBELET_CONF = '/etc/kubernetes/bootstrap-kubelet.conf';
export const CONTROLLER_MANAGER_CONF = '/etc/kubernetes/controller-manager.conf';
export const SCHEDULER_CONF = '/etc/kubernetes/scheduler.conf';
export const KUBECONFIG_FILES = [
  ADMIN_CONF,
  SUPER_ADMIN_CONF,
  KUBELET_CONF,
  BOOTSTRAP_KUBELET_CONF,
  CONTROLLER_MANAGER_CONF,
  SCHEDULER_CONF,
];
export const DEFAULT_CRI_SOCKET = 'unix:///var/run/containerd/containerd.sock';

export interface KubeVersionInfo {
  gitVersion: string;
  minor: number;
}

export function kubeVersion(): KubeVersionInfo {
  const gitVersion = process.env.BERTH_STANDIN_KUBE_VERSION || 'v1.29.3';
  const m = /^v1\.(\d+)\.\d+$/.exec(gitVersion);
  if (!m || Number(m[1]) < 27 || Number(m[1]) > 31)
    throw new Error(`kubeadm stand-in: version ${gitVersion} is outside 1.27–1.31`);
  return { gitVersion, minor: Number(m[1]) };
}

/** The images kubeadm 1.<minor> deploys (what `config images list` prints and the manifests name). */
export function controlPlaneImages(repo: string, version: string, minor: number) {
  const etcdTag = { 27: '3.5.7-0', 28: '3.5.9-0', 29: '3.5.10-0', 30: '3.5.12-0', 31: '3.5.15-0' }[minor];
  const pause = minor >= 31 ? '3.10' : '3.9';
  const coredns = { 27: 'v1.10.1', 28: 'v1.10.1', 29: 'v1.11.1', 30: 'v1.11.1', 31: 'v1.11.3' }[minor];
  return {
    apiserver: `${repo}/kube-apiserver:${version}`,
    controllerManager: `${repo}/kube-controller-manager:${version}`,
    scheduler: `${repo}/kube-scheduler:${version}`,
    proxy: `${repo}/kube-proxy:${version}`,
    coredns: `${repo}/coredns/coredns:${coredns}`,
    pause: `${repo}/pause:${pause}`,
    etcd: `${repo}/etcd:${etcdTag}`,
  };
}

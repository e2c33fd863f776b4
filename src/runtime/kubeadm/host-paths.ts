// Where kubeadm, the kubelet and berth's kubeadm pieces keep their files on a host (kubeadm's defaults:
// /work/shared/reference/distributions/kubeadm.md §4), named once for the steps, the checks and reset.

export const kubeDir = '/etc/kubernetes';
export const pkiDir = `${kubeDir}/pki`;
export const manifestsDir = `${kubeDir}/manifests`;
export const adminConf = `${kubeDir}/admin.conf`;
export const kubeletConf = `${kubeDir}/kubelet.conf`;
export const bootstrapKubeletConf = `${kubeDir}/bootstrap-kubelet.conf`;
export const initConfigFile = `${kubeDir}/kubeadm-init.yaml`;
export const joinConfigFile = `${kubeDir}/kubeadm-join.yaml`;
export const kubeletDir = '/var/lib/kubelet';
export const kubeletConfig = `${kubeletDir}/config.yaml`;
export const kubeletFlagsEnv = `${kubeletDir}/kubeadm-flags.env`;
export const etcdDataDir = '/var/lib/etcd';
/** kubeadm, kubelet and kubectl go where the distribution packages put them. */
export const binDir = '/usr/bin';
/** Paths berth created (absent before it ran); reset removes exactly these. */
export const createdRecord = '/etc/berth/kubeadm-created';

/** The Kubernetes programs a kubeadm cluster image carries in bin/. */
export const kubePrograms = ['kubeadm', 'kubelet', 'kubectl'] as const;

/** The cluster's directory on a host (the parent of the rootfs). */
export function clusterDirOf(rootfsDir: string): string {
  return rootfsDir.slice(0, rootfsDir.lastIndexOf('/'));
}

/** Where a step stages the pki and kubeconfigs it uploads until they are put in place. */
export function stagingDirOf(rootfsDir: string): string {
  return `${clusterDirOf(rootfsDir)}/kubeadm-upload`;
}

import { InputError } from '../../../util/errors.js';
import { compareMinor, type KubeVersion } from '../../kube-version.js';

// Which kubeadm config API a Kubernetes version takes: kubeadm 1.22 introduced v1beta3 (and dropped the
// v1beta2 of 1.15-1.21 from 1.27 on); 1.31 made v1beta4 the released default. berth renders one version
// per cluster and converts older documents to it.

export const kubeadmGroup = 'kubeadm.k8s.io';
export const kubeletApiVersion = 'kubelet.config.k8s.io/v1beta1';
export const kubeProxyApiVersion = 'kubeproxy.config.k8s.io/v1alpha1';

export type KubeadmApi = 'v1beta2' | 'v1beta3' | 'v1beta4';
export type TargetApi = Exclude<KubeadmApi, 'v1beta2'>;

export const kubeadmApis: readonly KubeadmApi[] = ['v1beta2', 'v1beta3', 'v1beta4'];

/** The config API berth writes for `version`; a version older than 1.22 is refused in one line. */
export function targetApi(version: KubeVersion): TargetApi {
  if (compareMinor(version, 1, 22) < 0) {
    throw new InputError(
      `the cluster image is Kubernetes ${version.text}; berth installs kubeadm clusters from 1.22 on (config API kubeadm.k8s.io/v1beta3), use an image of 1.22 or later`,
    );
  }
  return compareMinor(version, 1, 31) < 0 ? 'v1beta3' : 'v1beta4';
}

/** The Kubernetes version as kubeadm's kubernetesVersion field takes it: v1.29.3. */
export function kubernetesVersionText(version: KubeVersion): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

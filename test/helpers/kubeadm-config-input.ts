// Inputs for the kubeadm config tests: a Clusterfile whose extra documents are given, a sealos-style
// image kubeadm.yml, and the hosts of a small cluster.
import { parseClusterfile } from '../../src/clusterfile/index.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import type { KubeadmConfigInput } from '../../src/runtime/kubeadm/config/index.js';
import type { ClusterHost } from '../../src/runtime/types.js';

export const clusterDoc = `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata: { name: c1 }
spec:
  image: [labring/kubernetes:v1.29.3]
  hosts:
    - ips: [10.0.0.1, 10.0.0.2]
      roles: [master]
    - ips: [10.0.0.5]
      roles: [node]
`;

/** The whole Clusterfile text with `docs` after the Cluster document. */
export function clusterfileText(docs: string): string {
  return docs ? `${clusterDoc}---\n${docs}` : clusterDoc;
}

export function clusterfileDocs(docs: string) {
  return parseClusterfile(clusterfileText(docs), 'Clusterfile', { checkVariables: false }).distributionDocs;
}

/** What a labring rootfs image of the v1beta2 era carries in etc/kubeadm.yml (trimmed). */
export const sealosImageConfig = `apiVersion: kubeadm.k8s.io/v1beta2
kind: InitConfiguration
localAPIEndpoint:
  bindPort: 6443
nodeRegistration:
  criSocket: /run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
kubernetesVersion: v1.21.0
controlPlaneEndpoint: "apiserver.cluster.local:6443"
imageRepository: k8s.gcr.io
networking:
  dnsDomain: cluster.local
  podSubnet: 100.64.0.0/10
  serviceSubnet: 10.96.0.0/22
dns:
  type: CoreDNS
apiServer:
  certSANs:
    - 127.0.0.1
    - apiserver.cluster.local
    - 10.103.97.2
  timeoutForControlPlane: 5m0s
  extraArgs:
    audit-log-maxage: "7"
    audit-log-path: /var/log/kubernetes/audit.log
  extraVolumes:
    - name: audit
      hostPath: /etc/kubernetes
      mountPath: /etc/kubernetes
      pathType: DirectoryOrCreate
etcd:
  local:
    extraArgs:
      listen-metrics-urls: http://0.0.0.0:2381
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: JoinConfiguration
caCertPath: /etc/kubernetes/pki/ca.crt
discovery:
  timeout: 5m0s
nodeRegistration:
  criSocket: /run/containerd/containerd.sock
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
udpIdleTimeout: 250ms
ipvs:
  excludeCIDRs:
    - 10.103.97.2/32
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
maxPods: 110
`;

export const masters: ClusterHost[] = [
  { ip: '10.0.0.1', hostname: 'Master-0', roles: ['master'], cgroupDriver: 'systemd' },
  { ip: '10.0.0.2', hostname: 'master-1', roles: ['master'], criSocket: '/run/k3s/containerd.sock' },
];
export const nodes: ClusterHost[] = [{ ip: '10.0.0.5', roles: ['node'], cgroupDriver: 'cgroupfs' }];

export function input(version: string, over: Partial<KubeadmConfigInput> = {}): KubeadmConfigInput {
  return {
    kubeVersion: parseKubeVersion(version),
    documents: [],
    endpoint: { domain: 'apiserver.cluster.local', port: 6443 },
    vip: '10.103.97.2',
    masters,
    nodes,
    ...over,
  };
}

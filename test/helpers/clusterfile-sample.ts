// A Clusterfile as a sealos user would write it: three masters as a range, two nodes with their own SSH
// settings, env, a Config patch and kubeadm documents.
export const sampleClusterfile = `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  name: prod-1
spec:
  image:
    - labring/kubernetes:v1.27.7
    - labring/helm:v3.12.0
    - labring/calico:v3.24.1
  ssh:
    user: root
    passwd: \${T_CF_PASS}
    port: 22
  hosts:
    - ips: [192.168.0.2-192.168.0.4]
      roles: [master, amd64]
    - ips:
        - 192.168.0.10:2222
        - 192.168.0.11
      roles: [node, amd64]
      env:
        - NIC=eth1
        - criData=/data/containerd
      ssh:
        user: deploy
        pk: /root/.ssh/id_ed25519
        pkPasswd: \${T_CF_PK}
  env:
    - criData=/var/lib/containerd
    - registryDomain=sealos.hub
    - SEALOS_SYS_KUBE_VERSION=v9.9.9
  command: ["kubeadm init --skip-phases=addon/kube-proxy"]
status:
  phase: ClusterSuccess
  futureField: kept
  mounts:
    - name: default-abc
      type: rootfs
      imageName: labring/kubernetes:v1.27.7
      env: { criData: /var/lib/containerd }
      labels: { sealos.io.type: rootfs }
      cmd: []
      someNewKey: 1
---
apiVersion: apps.sealos.io/v1beta1
kind: Config
metadata:
  name: calico
spec:
  path: manifests/calico.yaml
  match: labring/calico:v3.24.1
  strategy: merge
  data: |
    spec:
      calicoNetwork:
        ipPools:
        - cidr: 100.64.0.0/10
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  bindPort: 6443
nodeRegistration:
  criSocket: /run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podSubnet: 100.64.0.0/10
`;

/** The 1-based line of the first line of `text` that contains `needle`. */
export function lineContaining(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l, n) => n >= from && l.includes(needle));
  if (i < 0) throw new Error(`sample has no line with ${needle}`);
  return i + 1;
}

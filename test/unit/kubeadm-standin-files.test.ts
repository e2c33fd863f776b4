// What the kubeadm stand-in writes for a node: static pod manifests with kubeadm's flags (a joining etcd
// member's initial cluster from the member list), kubeadm-flags.env and the defaulted KubeletConfiguration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYamlSubset } from '../stand-ins/k3s/yaml-subset.js';
import type { KubeObject } from '../stand-ins/kube-api/kube-object.js';
import { clusterSettings } from '../stand-ins/kubeadm/cluster-settings.js';
import { initialCluster } from '../stand-ins/kubeadm/etcd-members.js';
import { kubeadmFlagsLine, kubeletConfiguration, nthAddress } from '../stand-ins/kubeadm/kubelet-start.js';
import {
  apiserverManifest,
  type ControlPlaneSpec,
  etcdManifest,
} from '../stand-ins/kubeadm/static-pod-manifests.js';
import { toYaml } from '../stand-ins/kubeadm/yaml-write.js';

function spec(over: Partial<ControlPlaneSpec> = {}): ControlPlaneSpec {
  const c = clusterSettings(
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      apiServer: {
        extraArgs: [
          { name: 'audit-log-maxage', value: '30' },
          { name: 'secure-port', value: '7443' },
        ],
      },
      networking: { serviceSubnet: '10.96.0.0/16' },
    },
    'v1.31.1',
    31,
  );
  return {
    nodeName: 'm1',
    advertiseAddress: '10.0.0.2',
    bindPort: 6443,
    serviceSubnet: c.serviceSubnet,
    dnsDomain: c.dnsDomain,
    clusterName: c.clusterName,
    certificatesDir: c.certificatesDir,
    etcdDataDir: c.etcdDataDir,
    images: c.images,
    extraArgs: c.extra,
    ...over,
  };
}

test('manifests carry kubeadm flags sorted, extraArgs (v1beta4 list form) over the defaults', () => {
  const pod = parseYamlSubset(toYaml(apiserverManifest(spec()))) as KubeObject;
  const cmd: string[] = pod.spec.containers[0].command;
  assert.equal(cmd[0], 'kube-apiserver');
  assert.deepEqual(cmd.slice(1), [...cmd.slice(1)].sort());
  assert.ok(cmd.includes('--audit-log-maxage=30'));
  assert.ok(cmd.includes('--secure-port=7443'));
  assert.ok(cmd.includes('--etcd-servers=https://127.0.0.1:2379'));
  assert.ok(cmd.includes('--service-account-issuer=https://kubernetes.default.svc.cluster.local'));
  assert.equal(pod.spec.containers[0].image, 'registry.k8s.io/kube-apiserver:v1.31.1');
  assert.equal(
    pod.metadata.annotations['kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint'],
    '10.0.0.2:6443',
  );
});

test('a joining etcd member starts with the members etcd listed after member add', () => {
  const members = [
    { id: '1', name: 'm0', peerURLs: ['https://10.0.0.1:2380'], clientURLs: ['https://10.0.0.1:2379'] },
    { id: '2', name: '', peerURLs: ['https://10.0.0.2:2380'], clientURLs: [] },
  ];
  const cluster = initialCluster(members, 'm1', 'https://10.0.0.2:2380');
  assert.deepEqual(cluster, ['m0=https://10.0.0.1:2380', 'm1=https://10.0.0.2:2380']);
  const cmd: string[] = etcdManifest(spec({ initialCluster: cluster })).spec.containers[0].command;
  assert.ok(cmd.includes('--initial-cluster=m0=https://10.0.0.1:2380,m1=https://10.0.0.2:2380'));
  assert.ok(cmd.includes('--initial-cluster-state=existing'));
  const first: string[] = etcdManifest(spec()).spec.containers[0].command;
  assert.ok(first.includes('--initial-cluster=m1=https://10.0.0.2:2380'));
  assert.ok(!first.some((a) => a.startsWith('--initial-cluster-state')));
});

test('kubelet files: the flags line and kubeadm defaults under the user document', () => {
  assert.equal(
    kubeadmFlagsLine({
      criSocket: 'unix:///run/containerd/containerd.sock',
      nodeName: 'node-a',
      hostname: 'host-a',
      podInfraImage: 'registry.k8s.io/pause:3.9',
      extraArgs: new Map([['node-ip', '10.0.0.5']]),
    }),
    'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --hostname-override=node-a --pod-infra-container-image=registry.k8s.io/pause:3.9 --node-ip=10.0.0.5"\n',
  );
  const cfg = kubeletConfiguration(
    { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', maxPods: 50 },
    { serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local', certificatesDir: '/etc/kubernetes/pki' },
  );
  assert.deepEqual(cfg.clusterDNS, ['10.96.0.10']);
  assert.equal(cfg.staticPodPath, '/etc/kubernetes/manifests');
  assert.equal(cfg.maxPods, 50);
  assert.equal(nthAddress('10.96.0.0/12', 1), '10.96.0.1');
});

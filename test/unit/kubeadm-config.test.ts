import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { kubeadmConfig } from '../../src/runtime/kubeadm/config/index.js';
import { stepOutput } from '../../src/runtime/step-output.js';
import { InputError } from '../../src/util/errors.js';
import { lineContaining } from '../helpers/clusterfile-sample.js';
import {
  clusterfileDocs,
  clusterfileText,
  input,
  masters,
  nodes,
  sealosImageConfig,
} from '../helpers/kubeadm-config-input.js';

// biome-ignore lint/suspicious/noExplicitAny: the rendered documents are open-ended YAML.
type Obj = Record<string, any>;

const token = 'abcdef.0123456789abcdef';
const join = {
  controlPlane: false,
  token,
  caCertHash: `sha256:${'ab'.repeat(32)}`,
  apiServerEndpoint: '10.103.97.2:6443',
};

function docs(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => {
    assert.equal(d.errors.length, 0, String(d.errors[0]));
    return d.toJS() as Obj;
  });
}

function byKind(text: string): Record<string, Obj> {
  return Object.fromEntries(docs(text).map((d) => [d.kind, d]));
}

test('the config API follows the Kubernetes version: v1beta3 for 1.22-1.30, v1beta4 from 1.31', () => {
  for (const [version, api] of [
    ['v1.22.0', 'v1beta3'],
    ['v1.27.7', 'v1beta3'],
    ['v1.30.14', 'v1beta3'],
    ['v1.31.0', 'v1beta4'],
    ['1.33.1', 'v1beta4'],
  ] as const) {
    const config = kubeadmConfig(input(version));
    assert.equal(config.apiVersion, `kubeadm.k8s.io/${api}`, version);
    const init = docs(config.initConfig(masters[0]!, token));
    assert.deepEqual(
      init.map((d) => [d.kind, d.apiVersion]),
      [
        ['InitConfiguration', `kubeadm.k8s.io/${api}`],
        ['ClusterConfiguration', `kubeadm.k8s.io/${api}`],
        ['KubeletConfiguration', 'kubelet.config.k8s.io/v1beta1'],
        ['KubeProxyConfiguration', 'kubeproxy.config.k8s.io/v1alpha1'],
      ],
      version,
    );
    assert.deepEqual(
      docs(config.joinConfig(nodes[0]!, join)).map((d) => [d.kind, d.apiVersion]),
      [['JoinConfiguration', `kubeadm.k8s.io/${api}`]],
    );
  }
  assert.equal(kubeadmConfig(input('v1.29.3+build.1')).kubernetesVersion, 'v1.29.3');
});

test('a Kubernetes older than 1.22 is refused in one line', () => {
  assert.throws(
    () => kubeadmConfig(input('v1.21.14')),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        'the cluster image is Kubernetes v1.21.14; berth installs kubeadm clusters from 1.22 on (config API kubeadm.k8s.io/v1beta3), use an image of 1.22 or later',
  );
});

test('defaults: sealos ranges, the endpoint name, ipvs kube-proxy sparing the VIP, the first service IP', () => {
  const config = kubeadmConfig(input('v1.29.3'));
  assert.equal(config.podSubnet, '100.64.0.0/10');
  assert.equal(config.serviceSubnet, '10.96.0.0/22');
  assert.equal(config.dnsDomain, 'cluster.local');
  assert.equal(config.apiServiceIp, '10.96.0.1');
  assert.deepEqual(config.certSANs, []);
  assert.deepEqual(config.warnings, []);
  const d = byKind(config.initConfig(masters[0]!, token));
  assert.equal(d.ClusterConfiguration!.controlPlaneEndpoint, 'apiserver.cluster.local:6443');
  assert.equal(d.ClusterConfiguration!.kubernetesVersion, 'v1.29.3');
  assert.equal(d.ClusterConfiguration!.imageRepository, undefined, "kubeadm's own default");
  assert.equal(d.KubeProxyConfiguration!.mode, 'ipvs');
  assert.deepEqual(d.KubeProxyConfiguration!.ipvs.excludeCIDRs, ['10.103.97.2/32']);
  assert.equal(kubeadmConfig(input('v1.29.3', { imageRepository: 'sealos.hub:5000' })).certSANs.length, 0);
  const withRepo = byKind(
    kubeadmConfig(input('v1.29.3', { imageRepository: 'sealos.hub:5000' })).initConfig(masters[0]!, token),
  );
  assert.equal(withRepo.ClusterConfiguration!.imageRepository, 'sealos.hub:5000');
});

test('merge order: berth < image etc/kubeadm.yml < Clusterfile, a field from each layer', () => {
  const clusterfileSource = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
imageRepository: registry.example:5000
apiServer:
  certSANs: [api.example.com]
  extraArgs:
    audit-log-maxage: 30
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 200
cgroupDriver: cgroupfs
`;
  const documents = clusterfileDocs(clusterfileSource);
  const config = kubeadmConfig(
    input('v1.29.3', {
      imageDefaultConfig: sealosImageConfig.replace(
        'serviceSubnet: 10.96.0.0/22',
        'serviceSubnet: 10.96.0.0/16',
      ),
      documents,
      imageRepository: 'sealos.hub:5000',
    }),
  );
  const d = byKind(config.initConfig(masters[0]!, token));
  const cluster = d.ClusterConfiguration!;
  assert.equal(cluster.networking.podSubnet, '100.64.0.0/10', 'image = default');
  assert.equal(config.serviceSubnet, '10.96.0.0/16', 'image over berth');
  assert.equal(cluster.imageRepository, 'registry.example:5000', 'Clusterfile over image over input');
  assert.deepEqual(cluster.apiServer.extraArgs, {
    'audit-log-maxage': '30', // a string, as kubeadm's map[string]string takes it
    'audit-log-path': '/var/log/kubernetes/audit.log',
  });
  assert.deepEqual(config.certSANs, [
    '127.0.0.1',
    'apiserver.cluster.local',
    '10.103.97.2',
    'api.example.com',
  ]);
  assert.equal(cluster.kubernetesVersion, 'v1.29.3', "the image's kubeadm.yml version is replaced");
  assert.equal(d.KubeletConfiguration!.maxPods, 200);
  assert.equal(d.KubeletConfiguration!.cgroupDriver, 'systemd', 'the first master runs systemd cgroups');
  assert.equal(d.KubeProxyConfiguration!.udpIdleTimeout, undefined);
  assert.deepEqual(config.warnings, [
    `image:etc/kubeadm.yml:${lineContaining(sealosImageConfig, 'udpIdleTimeout')}: KubeProxyConfiguration field udpIdleTimeout is not in kubeproxy.config.k8s.io/v1alpha1; it is left out`,
    `Clusterfile:${lineContaining(clusterfileText(clusterfileSource), 'cgroupDriver')}: KubeletConfiguration cgroupDriver "cgroupfs" is not used: the kubelets use systemd, as the first master's init system and cgroups require`,
  ]);
  const fromImage = byKind(
    kubeadmConfig(
      input('v1.29.3', { imageDefaultConfig: sealosImageConfig, imageRepository: 'sealos.hub:5000' }),
    ).initConfig(masters[0]!, token),
  );
  assert.equal(
    fromImage.ClusterConfiguration!.imageRepository,
    'k8s.gcr.io',
    "the image's kubeadm.yml wins over input",
  );
});

test('v1beta4 merges extraArgs, extraVolumes and kubeletExtraArgs by name, later layers replacing', () => {
  const image = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
    - { name: audit-log-maxage, value: "7" }
    - { name: profiling, value: "false" }
  extraVolumes:
    - { name: audit, hostPath: /etc/kubernetes, mountPath: /etc/kubernetes }
`;
  const documents = clusterfileDocs(`apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
    - { name: audit-log-maxage, value: "30" }
  extraVolumes:
    - { name: audit, hostPath: /srv/audit, mountPath: /etc/kubernetes }
    - { name: extra, hostPath: /srv/x, mountPath: /x }
`);
  const cluster = byKind(
    kubeadmConfig(input('v1.31.2', { imageDefaultConfig: image, documents })).initConfig(masters[0]!, token),
  ).ClusterConfiguration!;
  assert.deepEqual(cluster.apiServer.extraArgs, [
    { name: 'profiling', value: 'false' },
    { name: 'audit-log-maxage', value: '30' },
  ]);
  assert.deepEqual(
    cluster.apiServer.extraVolumes.map((v: Obj) => `${v.name}:${v.hostPath}`),
    ['audit:/srv/audit', 'extra:/srv/x'],
  );
});

test('v1beta2/v1beta3 documents become v1beta4 for 1.31: extraArgs lists, timeouts moved', () => {
  const documents = clusterfileDocs(`apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
    max-pods: 150
    node-ip: 192.168.1.1
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  timeout: 7m0s
nodeRegistration:
  kubeletExtraArgs: { max-pods: "90" }
`);
  const config = kubeadmConfig(input('v1.31.0', { imageDefaultConfig: sealosImageConfig, documents }));
  const d = byKind(config.initConfig(masters[0]!, token));
  const cluster = d.ClusterConfiguration!;
  assert.deepEqual(cluster.apiServer.extraArgs, [
    { name: 'audit-log-maxage', value: '7' },
    { name: 'audit-log-path', value: '/var/log/kubernetes/audit.log' },
  ]);
  assert.deepEqual(cluster.etcd.local.extraArgs, [
    { name: 'listen-metrics-urls', value: 'http://0.0.0.0:2381' },
  ]);
  assert.equal(cluster.apiServer.timeoutForControlPlane, undefined);
  assert.equal(cluster.dns, undefined, 'v1beta2 dns.type CoreDNS dropped');
  assert.deepEqual(d.InitConfiguration!.timeouts, { controlPlaneComponentHealthCheck: '5m0s' });
  assert.deepEqual(d.InitConfiguration!.nodeRegistration.kubeletExtraArgs, [
    { name: 'max-pods', value: '150' },
    { name: 'node-ip', value: '192.168.1.1' },
  ]);
  const j = docs(config.joinConfig(nodes[0]!, join))[0]!;
  assert.deepEqual(j.timeouts, { controlPlaneComponentHealthCheck: '5m0s', discovery: '7m0s' });
  assert.equal(j.discovery.timeout, undefined);
  assert.equal(j.caCertPath, '/etc/kubernetes/pki/ca.crt');
  assert.deepEqual(j.nodeRegistration.kubeletExtraArgs, [
    { name: 'max-pods', value: '90' },
    { name: 'node-ip', value: '10.0.0.5' },
    { name: 'cgroup-driver', value: 'cgroupfs' },
  ]);
  const v3 = byKind(
    kubeadmConfig(input('v1.27.7', { imageDefaultConfig: sealosImageConfig })).initConfig(masters[0]!, token),
  );
  assert.equal(v3.ClusterConfiguration!.apiVersion, 'kubeadm.k8s.io/v1beta3');
  assert.equal(v3.ClusterConfiguration!.apiServer.timeoutForControlPlane, '5m0s', 'v1beta3 keeps it');
  assert.equal(v3.ClusterConfiguration!.dns, undefined);
  assert.equal(v3.ClusterConfiguration!.useHyperKubeImage, undefined);
});

test('a conversion that cannot keep the meaning is refused with the line', () => {
  const image = sealosImageConfig.replace('type: CoreDNS', 'type: kube-dns');
  assert.throws(() => kubeadmConfig(input('v1.29.3', { imageDefaultConfig: image })), {
    name: 'InputError',
    message: `image:etc/kubeadm.yml:${lineContaining(sealosImageConfig, 'type: CoreDNS')}: ClusterConfiguration dns.type "kube-dns": kubeadm 1.22+ deploys CoreDNS only; remove dns.type`,
  });
  const v4 = clusterfileDocs('apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n');
  assert.throws(() => kubeadmConfig(input('v1.30.1', { documents: v4 })), {
    message:
      'Clusterfile:12: InitConfiguration is kubeadm.k8s.io/v1beta4, which kubeadm reads from Kubernetes 1.31 on; this image needs kubeadm.k8s.io/v1beta3',
  });
  const v1 = clusterfileDocs('apiVersion: kubeadm.k8s.io/v1beta1\nkind: InitConfiguration\n');
  assert.throws(() => kubeadmConfig(input('v1.30.1', { documents: v1 })), {
    message:
      'Clusterfile:12: InitConfiguration apiVersion "kubeadm.k8s.io/v1beta1" is not one berth reads; write kubeadm.k8s.io/v1beta3',
  });
});

test('Clusterfile values of what berth decides are refused, the image values replaced', () => {
  const documents = clusterfileDocs(
    'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: 10.0.0.1:6443\n',
  );
  assert.throws(() => kubeadmConfig(input('v1.29.3', { documents })), {
    message:
      'Clusterfile:14: ClusterConfiguration controlPlaneEndpoint "10.0.0.1:6443": berth sets it to apiserver.cluster.local:6443 (the API name every host resolves); remove the field',
  });
  const pki = clusterfileDocs(
    'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncertificatesDir: /srv/pki\n',
  );
  assert.throws(() => kubeadmConfig(input('v1.29.3', { documents: pki })), {
    message:
      'Clusterfile:14: ClusterConfiguration certificatesDir "/srv/pki": berth sets it to /etc/kubernetes/pki (where it puts the certificates it makes); remove the field',
  });
  const same = clusterfileDocs(
    'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.29.3\n',
  );
  assert.equal(kubeadmConfig(input('v1.29.3', { documents: same })).kubernetesVersion, 'v1.29.3');
});

test('init: the node, CRI socket, addresses and token of the master; join: discovery and control plane', () => {
  const config = kubeadmConfig(input('v1.31.1', { imageDefaultConfig: sealosImageConfig }));
  const init = byKind(config.initConfig(masters[0]!, token)).InitConfiguration!;
  assert.equal(init.nodeRegistration.name, 'master-0', 'node names are lower case');
  assert.equal(init.nodeRegistration.criSocket, 'unix:///run/containerd/containerd.sock');
  assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: '10.0.0.1', bindPort: 6443 });
  assert.deepEqual(init.bootstrapTokens, [{ token, ttl: '24h0m0s' }]);
  const ownTokens = clusterfileDocs(`apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - { token: zzzzzz.zzzzzzzzzzzzzzzz, ttl: 1h0m0s }
`);
  assert.deepEqual(
    byKind(kubeadmConfig(input('v1.31.1', { documents: ownTokens })).initConfig(masters[0]!, token))
      .InitConfiguration!.bootstrapTokens,
    [{ token, ttl: '24h0m0s' }],
    "berth's token only, for the day berth counts on",
  );
  assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: '10.0.0.1' }]);

  const cp = parse(
    config.joinConfig(masters[1]!, {
      ...join,
      controlPlane: true,
      apiServerEndpoint: '10.0.0.1:6443',
      certificateKey: 'c'.repeat(64),
    }),
  );
  assert.equal(cp.nodeRegistration.name, 'master-1');
  assert.equal(cp.nodeRegistration.criSocket, 'unix:///run/k3s/containerd.sock', 'from the host facts');
  assert.deepEqual(cp.controlPlane, {
    localAPIEndpoint: { advertiseAddress: '10.0.0.2', bindPort: 6443 },
    certificateKey: 'c'.repeat(64),
  });
  assert.deepEqual(cp.discovery, {
    bootstrapToken: { apiServerEndpoint: '10.0.0.1:6443', token, caCertHashes: [join.caCertHash] },
    tlsBootstrapToken: token,
  });
  const placeholder = stepOutput('10.0.0.1', 'bootstrap-token', 'token');
  const text = config.joinConfig(nodes[0]!, { ...join, token: placeholder });
  assert.equal(text.split(placeholder).length, 3, 'a step output placeholder is written verbatim, twice');
  assert.equal(parse(text.replaceAll(placeholder, token)).discovery.tlsBootstrapToken, token);
  const worker = parse(config.joinConfig(nodes[0]!, join));
  assert.equal(worker.controlPlane, undefined);
  assert.equal(worker.nodeRegistration.name, '10.0.0.5', 'no hostname known: the address, as in the pki');
  assert.equal(worker.discovery.bootstrapToken.apiServerEndpoint, '10.103.97.2:6443');
});

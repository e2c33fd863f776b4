import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNetworks, kubeadmConfig } from '../../src/runtime/kubeadm/config/index.js';
import { InputError } from '../../src/util/errors.js';
import { lineContaining } from '../helpers/clusterfile-sample.js';
import {
  clusterfileDocs,
  clusterfileText,
  input,
  sealosImageConfig,
} from '../helpers/kubeadm-config-input.js';

/** kubeadmConfig for `version` over the Clusterfile documents `docs` fails with exactly `message`. */
function refuses(version: string, docs: string, message: (line: (needle: string) => number) => string) {
  const text = clusterfileText(docs);
  assert.throws(
    () => kubeadmConfig(input(version, { documents: clusterfileDocs(docs) })),
    (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(
        e.message,
        message((needle) => lineContaining(text, needle)),
      );
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('a field not in the API is refused with file:line, kind, field path and the field meant', () => {
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podCIDR: 10.244.0.0/16
`,
    (line) =>
      `Clusterfile:${line('podCIDR')}: ClusterConfiguration field networking.podCIDR is not in kubeadm.k8s.io/v1beta3; did you mean podSubnet?`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraVolumes:
    - name: audit
      hostpath: /etc/kubernetes
`,
    (line) =>
      `Clusterfile:${line('hostpath')}: ClusterConfiguration field apiServer.extraVolumes[0].hostpath is not in kubeadm.k8s.io/v1beta3; did you mean hostPath?`,
  );
  refuses(
    'v1.30.0',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
nodeRegistration:
  imagePullSerial: false
`,
    (line) =>
      `Clusterfile:${line('imagePullSerial')}: JoinConfiguration field nodeRegistration.imagePullSerial is not in kubeadm.k8s.io/v1beta3; did you mean imagePullPolicy?`,
  );
  refuses(
    'v1.31.0',
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  timeoutForControlPlane: 4m0s
`,
    (line) =>
      `Clusterfile:${line('timeoutForControlPlane')}: ClusterConfiguration field apiServer.timeoutForControlPlane is not in kubeadm.k8s.io/v1beta4; did you mean InitConfiguration/JoinConfiguration timeouts.controlPlaneComponentHealthCheck?`,
  );
  refuses(
    'v1.31.0',
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  timeout: 4m0s
`,
    (line) =>
      `Clusterfile:${line('timeout:')}: JoinConfiguration field discovery.timeout is not in kubeadm.k8s.io/v1beta4; did you mean timeouts.discovery?`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
podSubnet: 10.244.0.0/16
`,
    (line) =>
      `Clusterfile:${line('podSubnet')}: ClusterConfiguration field podSubnet is not in kubeadm.k8s.io/v1beta3; did you mean networking.podSubnet?`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
criSocket: unix:///run/containerd/containerd.sock
`,
    (line) =>
      `Clusterfile:${line('criSocket')}: InitConfiguration field criSocket is not in kubeadm.k8s.io/v1beta3; did you mean nodeRegistration.criSocket?`,
  );
  refuses(
    'v1.31.0',
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
scheduler:
  extraArgs:
    bind-address: 0.0.0.0
`,
    (line) =>
      `Clusterfile:${line('extraArgs')}: ClusterConfiguration field scheduler.extraArgs must be a list of {name, value}`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
    node-labels: { disk: ssd }
`,
    (line) =>
      `Clusterfile:${line('node-labels')}: InitConfiguration field nodeRegistration.kubeletExtraArgs.node-labels must be a string, not a list or mapping`,
  );
  refuses(
    'v1.27.7',
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPod: 50
`,
    (line) =>
      `Clusterfile:${line('maxPod')}: KubeletConfiguration field maxPod is not in kubelet.config.k8s.io/v1beta1; did you mean maxPods?`,
  );
  refuses(
    'v1.27.7',
    `apiVersion: kubeproxy.config.k8s.io/v1alpha2
kind: KubeProxyConfiguration
`,
    (line) =>
      `Clusterfile:${line('v1alpha2')}: KubeProxyConfiguration apiVersion "kubeproxy.config.k8s.io/v1alpha2" is not one berth reads; write kubeproxy.config.k8s.io/v1alpha1`,
  );
});

test("the image's kubeadm.yml is checked against its own API, and named in the error", () => {
  const image = sealosImageConfig.replace('  bindPort: 6443', '  bindPort: 6443\n  bindAddress: 0.0.0.0');
  assert.throws(() => kubeadmConfig(input('v1.29.3', { imageDefaultConfig: image })), {
    name: 'InputError',
    message: `image:etc/kubeadm.yml:${lineContaining(image, 'bindAddress')}: InitConfiguration field localAPIEndpoint.bindAddress is not in kubeadm.k8s.io/v1beta2`,
  });
  const v2only = sealosImageConfig.replace(
    'kind: JoinConfiguration',
    'kind: JoinConfiguration\nskipPhases: []',
  );
  assert.throws(() => kubeadmConfig(input('v1.29.3', { imageDefaultConfig: v2only })), {
    message: `image:etc/kubeadm.yml:${lineContaining(v2only, 'skipPhases')}: JoinConfiguration field skipPhases is not in kubeadm.k8s.io/v1beta2`,
  });
  assert.throws(
    () => kubeadmConfig(input('v1.29.3', { imageDefaultConfig: 'kind: Pod\napiVersion: v1\n' })),
    {
      message:
        'image:etc/kubeadm.yml:1: kind "Pod" is not a kubeadm config kind (InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration, KubeProxyConfiguration)',
    },
  );
  assert.throws(() => kubeadmConfig(input('v1.29.3', { imageDefaultConfig: 'a: [1\n' })), {
    message: /^image:etc\/kubeadm\.yml:\d+: YAML syntax: /,
  });
  const withReset = `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\n`;
  assert.equal(
    kubeadmConfig(input('v1.31.0', { imageDefaultConfig: withReset })).apiVersion,
    'kubeadm.k8s.io/v1beta4',
  );
});

test('overlapping pod and service ranges are refused, naming where the range was written', () => {
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podSubnet: 10.96.0.0/12
`,
    (line) =>
      `Clusterfile:${line('podSubnet')}: networking.podSubnet 10.96.0.0/12 overlaps berth's default networking.serviceSubnet 10.96.0.0/22; set ClusterConfiguration networking.podSubnet and serviceSubnet in the Clusterfile to ranges apart`,
  );
});

test('a host address or the VIP inside the pod or service range is refused', () => {
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podSubnet: 10.0.0.0/16
`,
    (line) =>
      `Clusterfile:${line('podSubnet')}: networking.podSubnet 10.0.0.0/16 contains host 10.0.0.1; set ClusterConfiguration networking.podSubnet in the Clusterfile to a range that holds no host address or VIP`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  serviceSubnet: 10.103.0.0/16
`,
    (line) =>
      `Clusterfile:${line('serviceSubnet')}: networking.serviceSubnet 10.103.0.0/16 contains the VIP 10.103.97.2; set ClusterConfiguration networking.serviceSubnet in the Clusterfile to a range that holds no host address or VIP`,
  );
  refuses(
    'v1.29.3',
    `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  serviceSubnet: 10.96.0.0/33
`,
    (line) =>
      `Clusterfile:${line('serviceSubnet')}: networking.serviceSubnet "10.96.0.0/33": "10.96.0.0/33" is not an IPv4 CIDR such as 10.96.0.0/22`,
  );
});

test('checkNetworks: berth defaults, dual-stack entries, the VIP on a host', () => {
  const hosts = [
    { ip: '192.168.1.10', roles: ['master'] },
    { ip: '192.168.1.11', roles: ['node'] },
  ];
  const plan = { podSubnet: '100.64.0.0/10', serviceSubnet: '10.96.0.0/22', vip: '10.103.97.2', hosts };
  checkNetworks(plan);
  checkNetworks({ ...plan, podSubnet: '100.64.0.0/10,fd00:10::/56' });
  assert.throws(() => checkNetworks({ ...plan, podSubnet: '192.168.0.0/16' }), {
    message:
      "berth's default networking.podSubnet 192.168.0.0/16 contains host 192.168.1.10; set ClusterConfiguration networking.podSubnet in the Clusterfile to a range that holds no host address or VIP",
  });
  assert.throws(
    () =>
      checkNetworks({
        ...plan,
        serviceSubnet: '100.127.0.0/16',
        origin: { serviceSubnet: 'image:etc/kubeadm.yml:16' },
      }),
    {
      message:
        "image:etc/kubeadm.yml:16: networking.serviceSubnet 100.127.0.0/16 overlaps berth's default networking.podSubnet 100.64.0.0/10; set ClusterConfiguration networking.podSubnet and serviceSubnet in the Clusterfile to ranges apart",
    },
  );
  assert.throws(() => checkNetworks({ ...plan, vip: '192.168.1.11' }), {
    message:
      "the VIP 192.168.1.11 is the address of host 192.168.1.11; the API balancer needs an address of its own (the image's vip label or defaultVIP env)",
  });
  assert.throws(() => checkNetworks({ ...plan, serviceSubnet: 'fd00::/108' }), {
    message: `berth's default networking.serviceSubnet "fd00::/108" has no IPv4 range; berth needs one`,
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { controllerConfig, userConfig } from '../../src/runtime/k0s/config.js';
import { k0sRegistryFiles, registryDropIn } from '../../src/runtime/k0s/registries.js';
import { prepareK0s } from '../../src/runtime/k0s/state.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { InputError } from '../../src/util/errors.js';
import { k0sBase } from '../helpers/k0s-context.js';
import { clusterfileDocs, clusterfileText } from '../helpers/kubeadm-config-input.js';

const imageConfig = `apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  api:
    sans: [image.example]
  network:
    provider: kuberouter
    podCIDR: 10.244.0.0/16
  telemetry:
    enabled: true
`;

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

test('k0s.yaml: berth defaults < image etc/k0s.yaml < Clusterfile ClusterConfig < what berth must set', () => {
  const docs = `apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata: { name: k0s }
spec:
  api:
    sans: [user.example]
    address: 192.168.9.9
  network:
    podCIDR: 10.50.0.0/16
    kubeProxy: { mode: ipvs }
`;
  const ctx = {
    ...k0sBase(3, 2),
    imageDefaultConfig: imageConfig,
    distributionConfig: clusterfileDocs(docs),
  };
  const config = parse(controllerConfig(ctx, ctx.masters[1]!, true));
  assert.equal(config.apiVersion, 'k0s.k0sproject.io/v1beta1');
  assert.equal(config.kind, 'ClusterConfig');
  assert.equal(config.spec.network.podCIDR, '10.50.0.0/16', 'the Clusterfile wins over the image');
  assert.equal(config.spec.network.provider, 'kuberouter', 'the image default is kept');
  assert.equal(config.spec.network.kubeProxy.mode, 'ipvs');
  assert.equal(config.spec.telemetry.enabled, true, "the image's choice wins over berth's default");
  assert.equal(config.spec.api.address, '10.0.0.2', "the controller's own address, whatever a layer says");
  assert.equal(config.spec.api.port, 6443);
  assert.equal(config.spec.storage.etcd.peerAddress, '10.0.0.2');
  assert.deepEqual(config.spec.api.sans, [
    'user.example',
    '10.0.0.1',
    'm0',
    '10.0.0.2',
    'm1',
    '10.0.0.3',
    'm2',
    'apiserver.cluster.local',
    '10.103.97.2',
  ]);
  assert.deepEqual(config.spec.network.nodeLocalLoadBalancing, { enabled: true, type: 'EnvoyProxy' });
  assert.deepEqual(
    userConfig(k0sBase(1, 0)),
    { spec: { telemetry: { enabled: false } } },
    'berth: no telemetry',
  );
});

test('k0s.yaml: one controller has no node-local load balancing; kine storage gets no etcd peer address', () => {
  const docs =
    'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  storage: { type: kine }\n';
  const ctx = { ...k0sBase(1, 2), distributionConfig: clusterfileDocs(docs) };
  const config = parse(controllerConfig(ctx, ctx.masters[0]!, false));
  assert.equal(config.spec.network, undefined);
  assert.deepEqual(config.spec.storage, { type: 'kine' });
  assert.equal(config.metadata.name, 'k0s');
});

test('an unknown ClusterConfig field is an InputError naming file, line, document and field', () => {
  const docs = `apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata: { name: edge }
spec:
  network:
    podCidr: 10.50.0.0/16
`;
  const line = lineOf(clusterfileText(docs), 'podCidr');
  const ctx = { ...k0sBase(1, 0), distributionConfig: clusterfileDocs(docs) };
  assert.throws(
    () => prepareK0s(ctx, undefined),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        `Clusterfile:${line}: ClusterConfig edge field spec.network.podCidr is not a field of k0s v1.29.4+k0s.0's ClusterConfig; did you mean podCIDR?`,
  );
});

test("the image's etc/k0s.yaml is checked too, and fields follow the image's k0s version", () => {
  const bad = `${imageConfig}  storage:\n    etcd:\n      peerAdress: 1.2.3.4\n`;
  assert.throws(
    () => prepareK0s({ ...k0sBase(1, 0), imageDefaultConfig: bad }, undefined),
    /^InputError: image:etc\/k0s.yaml:15: ClusterConfig k0s field spec.storage.etcd.peerAdress is not a field .*did you mean peerAddress\?$/,
  );
  const cplb = `apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  network:
    controlPlaneLoadBalancing: { enabled: false }
    kuberouter: { extraArgs: { v: "2" } }
  interval: 1m
  podSecurityPolicy: { defaultPolicy: 00-k0s-privileged }
`;
  const at = (version: string, docs = cplb) => ({
    ...k0sBase(1, 0),
    kubeVersion: parseKubeVersion(version),
    distributionConfig: clusterfileDocs(docs),
  });
  assert.doesNotThrow(
    () => prepareK0s(at('v1.30.2+k0s.0'), undefined),
    'v1.30 has CPLB; interval and PSP are ignored',
  );
  assert.throws(
    () => prepareK0s(at('v1.29.4+k0s.0'), undefined),
    /field spec.network.controlPlaneLoadBalancing is not a field of k0s v1.29.4\+k0s.0/,
  );
  assert.throws(
    () => prepareK0s(at('v1.28.14+k0s.0', cplb.replace(/ {4}controlPlaneLoadBalancing.*\n/, '')), undefined),
    /kuberouter.extraArgs is not a field of k0s v1.28.14/,
  );
});

test('a ClusterConfig of another apiVersion, a list where a mapping belongs, YAML errors', () => {
  const wrongApi = 'apiVersion: k0s.k0sproject.io/v1\nkind: ClusterConfig\nspec: {}\n';
  assert.throws(
    () => prepareK0s({ ...k0sBase(1, 0), distributionConfig: clusterfileDocs(wrongApi) }, undefined),
    (e: unknown) =>
      e instanceof InputError &&
      /apiVersion "k0s.k0sproject.io\/v1" is not one k0s v1.29.4\+k0s.0 reads; write k0s.k0sproject.io\/v1beta1$/.test(
        e.message,
      ),
  );
  const list =
    'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  api:\n    extraArgs: [a, b]\n';
  assert.throws(
    () => prepareK0s({ ...k0sBase(1, 0), distributionConfig: clusterfileDocs(list) }, undefined),
    /ClusterConfig k0s field spec.api.extraArgs must be a mapping of names to values$/,
  );
  assert.throws(
    () => prepareK0s({ ...k0sBase(1, 0), imageDefaultConfig: 'spec: [\n' }, undefined),
    /^InputError: image:etc\/k0s.yaml:\d+: YAML syntax/,
  );
});

test('registry: a CRI drop-in in /etc/k0s/containerd.d pointing at mirror files for the public registries', () => {
  const files = k0sRegistryFiles(k0sBase(1, 0).registry);
  const dropIn = files.find((f) => f.path === registryDropIn);
  assert.ok(dropIn);
  assert.equal(registryDropIn, '/etc/k0s/containerd.d/berth-registry.toml');
  assert.match(
    dropIn.content,
    /^\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\]\n {2}config_path = "\/etc\/k0s\/certs\.d"$/m,
  );
  for (const host of ['registry.k8s.io', 'docker.io', 'quay.io', 'ghcr.io', 'sealos.hub:5000']) {
    const f = files.find((x) => x.path === `/etc/k0s/certs.d/${host}/hosts.toml`);
    assert.ok(f, `${host} is mirrored`);
    assert.equal(f.mode, 0o600);
    assert.match(f.content, /\[host\."http:\/\/sealos\.hub:5000"\]/);
  }
});

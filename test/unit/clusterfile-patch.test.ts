import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { applyConfigPatch } from '../../src/clusterfile/index.js';
import { InputError } from '../../src/util/errors.js';

const kubeadm = `# kubeadm defaults of the image
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  bindPort: 6443 # the API port
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.27.7
networking:
  podSubnet: 100.64.0.0/10
  serviceSubnet: 10.96.0.0/22
apiServer:
  certSANs: [127.0.0.1, apiserver.cluster.local]
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 110
`;

const docs = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJS());

test('override replaces, insert prepends, append appends', () => {
  assert.equal(applyConfigPatch('old\n', { data: 'new\n' }), 'new\n');
  assert.equal(applyConfigPatch('old\n', { data: 'new\n', strategy: 'override' }), 'new\n');
  assert.equal(applyConfigPatch('b\n', { data: 'a', strategy: 'insert' }), 'a\nb\n');
  assert.equal(applyConfigPatch('b\n', { data: 'a\n', strategy: 'insert' }), 'a\nb\n');
  assert.equal(applyConfigPatch('a', { data: 'b\n', strategy: 'append' }), 'a\nb\n');
  assert.equal(applyConfigPatch('a\n', { data: 'b\n', strategy: 'append' }), 'a\nb\n');
  assert.equal(applyConfigPatch('', { data: 'b\n', strategy: 'append' }), 'b\n');
});

test('merge deep-merges documents matched by kind, keeping comments and other documents', () => {
  const patch = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podSubnet: 10.244.0.0/16
apiServer:
  certSANs: [10.0.0.100]
  extraArgs: { audit-log-maxage: "30" }
`;
  const out = applyConfigPatch(kubeadm, { data: patch, strategy: 'merge', path: 'etc/kubeadm.yml' });
  const [init, cluster, kubelet] = docs(out) as Array<Record<string, unknown>>;
  assert.deepEqual(init, docs(kubeadm)[0], 'the other documents are unchanged');
  assert.deepEqual(kubelet, {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    maxPods: 110,
  });
  assert.deepEqual(cluster, {
    apiVersion: 'kubeadm.k8s.io/v1beta3',
    kind: 'ClusterConfiguration',
    kubernetesVersion: 'v1.27.7',
    networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/22' },
    apiServer: { certSANs: ['10.0.0.100'], extraArgs: { 'audit-log-maxage': '30' } },
  });
  assert.match(out, /# kubeadm defaults of the image/);
  assert.match(out, /bindPort: 6443 # the API port/);
});

test('merge: documents without kind match by position, null removes, unmatched documents are added', () => {
  const out = applyConfigPatch('a: 1\nb: { c: 2, d: 3 }\n---\nx: 1\n', {
    data: 'b: { d: null, e: 4 }\n---\ny: 2\n---\nz: 3\n',
    strategy: 'merge',
  });
  assert.deepEqual(docs(out), [{ a: 1, b: { c: 2, e: 4 } }, { x: 1, y: 2 }, { z: 3 }]);
  const named = applyConfigPatch(
    'kind: A\nmetadata: { name: one }\nv: 1\n---\nkind: A\nmetadata: { name: two }\nv: 1\n',
    {
      data: 'kind: A\nmetadata: { name: two }\nv: 2\n---\nkind: B\nv: 3\n',
      strategy: 'merge',
    },
  );
  assert.deepEqual(docs(named), [
    { kind: 'A', metadata: { name: 'one' }, v: 1 },
    { kind: 'A', metadata: { name: 'two' }, v: 2 },
    { kind: 'B', v: 3 },
  ]);
});

test('merge on a file that is not YAML names the file and line', () => {
  assert.throws(
    () => applyConfigPatch('a: 1\nb: [\n', { data: 'a: 2\n', strategy: 'merge', path: 'etc/x.yaml' }),
    (err: Error) =>
      err instanceof InputError &&
      /^etc\/x\.yaml line \d+: not YAML, so strategy merge cannot apply: /.test(err.message),
  );
});

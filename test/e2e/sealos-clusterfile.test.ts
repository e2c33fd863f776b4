// A Clusterfile exactly as `sealos gen` writes it applies unchanged on sandbox hosts: `pk: /root/.ssh/id_rsa`
// (absent here) beside a password, arch words in roles, `creationTimestamp: null`, `status: {}`. The
// cluster then takes a Deployment through the real kubectl and rolls it out on the stand-in's API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertReadyNodes, berthOk, imageRef, setupCluster } from '../helpers/cluster-e2e.js';

const cluster = 't-sealos-cf';
const SEALOS_DEFAULT_KEY = '/root/.ssh/id_rsa';

function kubectl(kubeconfig: string, home: string, args: string[], input?: string) {
  return spawnSync(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'kube-cache'), '--request-timeout=20s', ...args],
    { input, encoding: 'utf8', timeout: 90_000 },
  );
}

test('a sealos-written Clusterfile with a missing default key and a password applies', async (t) => {
  if (existsSync(SEALOS_DEFAULT_KEY)) {
    t.skip(`${SEALOS_DEFAULT_KEY} exists on this machine, so it cannot stand for the missing key`);
    return;
  }
  const setup = await setupCluster(t, { sandbox: 't-sealos-cf', hosts: 2 });
  const { sb, home } = setup;
  const [master, node] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  setup.resetOnCleanup(cluster);
  // sealos writes one spec.ssh for all hosts; sandbox hosts have a password each, so the node's goes in
  // its own ssh entry (which sealos also reads).
  const file = join(home, 'Clusterfile');
  writeFileSync(
    file,
    `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  creationTimestamp: null
  name: ${cluster}
spec:
  hosts:
  - ips:
    - ${master.ip}:22
    roles:
    - master
    - ${arch}
  - ips:
    - ${node.ip}:22
    roles:
    - node
    - ${arch}
    ssh:
      passwd: ${node.rootPassword}
  image:
  - ${imageRef}
  ssh:
    passwd: ${master.rootPassword}
    pk: ${SEALOS_DEFAULT_KEY}
    port: 22
    user: root
status: {}
`,
  );
  await berthOk(['apply', '-f', file]);
  const kubeconfig = join(home, cluster, 'kubeconfig');
  assertReadyNodes(kubeconfig, [master.ip, node.ip]);

  await t.test('the cluster rolls out a Deployment applied with kubectl', () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:1"}]}
`;
    const applied = kubectl(kubeconfig, home, ['apply', '-f', '-'], manifest);
    assert.equal(applied.status, 0, applied.stderr);
    const rollout = kubectl(kubeconfig, home, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    assert.equal(rollout.status, 0, rollout.stderr);
    assert.match(rollout.stdout, /successfully rolled out/);
    const deleted = kubectl(kubeconfig, home, ['delete', 'deployment', 'web', '--timeout=60s']);
    assert.equal(deleted.status, 0, deleted.stderr);
  });
});

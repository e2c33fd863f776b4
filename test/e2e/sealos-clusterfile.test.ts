// A Clusterfile exactly as `sealos gen` writes it applies unchanged on sandbox hosts: `pk: /root/.ssh/id_rsa`
// (absent here) beside a password, arch words in roles, `creationTimestamp: null`, `status: {}`. The
// cluster then takes Deployments through the real kubectl: the kubelets pull their image from the cluster
// registry through containerd (imageID is the digest the image's registry/ holds), or report ErrImagePull.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertReadyNodes, berthOk, imageRef, mustSsh, setupCluster } from '../helpers/cluster-e2e.js';

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

  const deployment = (name: string, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: main, image: "${image}"}]}
`;

  await t.test('a Deployment rolls out with its image pulled from the cluster registry', () => {
    const applied = kubectl(
      kubeconfig,
      home,
      ['apply', '-f', '-'],
      deployment('web', 'registry.k8s.io/pause:3.9'),
    );
    assert.equal(applied.status, 0, applied.stderr);
    const rollout = kubectl(kubeconfig, home, ['rollout', 'status', 'deployment/web', '--timeout=90s']);
    assert.equal(rollout.status, 0, `${rollout.stdout}${rollout.stderr}`);
    assert.match(rollout.stdout, /successfully rolled out/);
    const stored = mustSsh(
      setup,
      master,
      `cat /var/lib/berth/${cluster}/rootfs/registry/docker/registry/v2/repositories/pause/_manifests/tags/3.9/current/link`,
    ).trim();
    const ids = kubectl(kubeconfig, home, [
      'get',
      'pods',
      '-l',
      'app=web',
      '-o',
      'jsonpath={.items[*].status.containerStatuses[0].imageID}',
    ]);
    assert.equal(ids.stdout, `registry.k8s.io/pause@${stored} registry.k8s.io/pause@${stored}`);
    const deleted = kubectl(kubeconfig, home, ['delete', 'deployment', 'web', '--timeout=60s']);
    assert.equal(deleted.status, 0, deleted.stderr);
  });

  await t.test('an image the registry does not have leaves the pods in ErrImagePull', async () => {
    const applied = kubectl(
      kubeconfig,
      home,
      ['apply', '-f', '-'],
      deployment('gone', 'registry.k8s.io/no-such:1'),
    );
    assert.equal(applied.status, 0, applied.stderr);
    let waiting: string[] = [];
    for (let i = 0; i < 60 && waiting.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const r = kubectl(kubeconfig, home, [
        'get',
        'pods',
        '-l',
        'app=gone',
        '-o',
        'jsonpath={range .items[*]}{.status.containerStatuses[0].state.waiting.reason}:{.status.containerStatuses[0].state.waiting.message}{"\\n"}{end}',
      ]);
      waiting = r.stdout.split('\n').filter((l) => l.startsWith('ErrImagePull:'));
    }
    assert.equal(waiting.length, 2, waiting.join('\n'));
    assert.match(waiting[0]!, /failed to pull and unpack image "registry\.k8s\.io\/no-such:1"/);
    const deleted = kubectl(kubeconfig, home, ['delete', 'deployment', 'gone', '--timeout=60s']);
    assert.equal(deleted.status, 0, deleted.stderr);
  });
});

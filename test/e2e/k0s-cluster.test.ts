// A k0s cluster from the example k0s image on four sandbox hosts, through the real CLI, one cluster for
// every case: 1 controller + 1 worker, a worker added (all Ready as real kubectl sees them), a pod on a
// worker pulling registry.k8s.io/pause:3.9 through k0s's containerd drop-in, the worker deleted, two
// controllers added (three etcd members, node-local load balancing on), one of them stopped (the API and
// the worker carry on), both deleted (Nodes and etcd members gone, the hosts as they were before), then
// reset leaving every host as it was.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { K0S_EXAMPLE_VERSION } from '../../examples/example-image.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  kubectl,
  kubectlNodes,
  mustSsh,
  setupCluster,
  snapshotHost,
} from '../helpers/cluster-e2e.js';

const tag = `example/k0s:${K0S_EXAMPLE_VERSION.replace('+', '-')}`;
const skip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

/** The peer URLs of the etcd members, as `k0s etcd member-list` on `h` prints them. */
function etcdPeers(setup: Parameters<typeof mustSsh>[0], h: Parameters<typeof mustSsh>[1]): string[] {
  const out = JSON.parse(mustSsh(setup, h, '/usr/local/bin/k0s etcd member-list')) as {
    members: Record<string, string>;
  };
  return Object.values(out.members).sort();
}

test('k0s cluster: a worker and controllers added and deleted, one stopped, a pull through the mirror, reset', {
  skip,
}, async (t) => {
  const cluster = 't-k0s-cl';
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 4, image: { tag, distribution: 'k0s' } });
  const { sb, home } = setup;
  const [h0, h1, h2, h3] = sb.hosts as [
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
  ];
  const kubeconfig = join(home, cluster, 'kubeconfig');
  const before = new Map(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);

  const run = await berthOk(
    ['run', tag, '--sandbox', sb.name, '--cluster', cluster, '--masters', '1', '--nodes', '1'],
    600_000,
  );
  console.log(`run (1 controller + 1 worker) took ${(run.ms / 1000).toFixed(1)} s`);
  const add = await berthOk(['add', '--nodes', h2.ip, '--cluster', cluster], 300_000);
  console.log(`add (a worker) took ${(add.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip]);
  assert.equal(
    mustSsh(setup, h1, 'ls /etc/k0s/join-token 2>&1 || :').includes('No such file'),
    true,
    'no join token is left on a worker',
  );
  // the service k0s install wrote: a systemd unit, or berth's supervisor run file where no systemd runs
  const unit = mustSsh(
    setup,
    h1,
    'cat /etc/systemd/system/k0sworker.service /etc/berth/services/k0sworker.run 2>/dev/null || :',
  );
  assert.match(unit, /k0s worker/);
  assert.doesNotMatch(unit, /token-file/, 'the service names no token once joined');

  // the pod names the image by its public name and gives no pull secret: k0s's containerd must find it in
  // the cluster registry through berth's drop-in
  const pod = `apiVersion: v1
kind: Pod
metadata: { name: t-pull, namespace: default }
spec:
  nodeName: ${h1.name}
  containers:
    - { name: pause, image: registry.k8s.io/pause:3.9, imagePullPolicy: Always }
`;
  kubectl(kubeconfig, ['apply', '-f', '-'], pod);
  kubectl(kubeconfig, ['wait', '--for=condition=Ready', 'pod/t-pull', '--timeout=90s']);
  const imageId = kubectl(kubeconfig, [
    'get',
    'pod',
    't-pull',
    '-o',
    'jsonpath={.status.containerStatuses[0].imageID}',
  ]).trim();
  kubectl(kubeconfig, ['delete', 'pod', 't-pull', '--wait=false']);
  const stored = mustSsh(
    setup,
    h0,
    `cat /var/lib/berth/${cluster}/rootfs/registry/docker/registry/v2/repositories/pause/_manifests/tags/3.9/current/link`,
  ).trim();
  assert.ok(imageId.endsWith(stored), `the pod runs ${imageId}, the cluster registry holds ${stored}`);

  const delNode = await berthOk(['delete', '--nodes', h2.ip, '--cluster', cluster], 300_000);
  console.log(`delete (a worker) took ${(delNode.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(
    kubectlNodes(kubeconfig)
      .map((n) => n.ip)
      .sort(),
    [h0.ip, h1.ip].sort(),
    'the deleted worker has no Node any more',
  );
  await assertHostAsBefore(setup, h2, before.get(h2.ip) as HostSnapshot);

  const addMasters = await berthOk(['add', '--masters', `${h2.ip},${h3.ip}`, '--cluster', cluster], 600_000);
  console.log(`add (2 controllers) took ${(addMasters.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip, h3.ip]);
  const peers = (...hs: (typeof sb.hosts)[0][]) => hs.map((h) => `https://${h.ip}:2380`).sort();
  assert.deepEqual(etcdPeers(setup, h0), peers(h0, h2, h3));
  for (const h of [h0, h2, h3])
    assert.match(
      mustSsh(setup, h, 'cat /etc/k0s/k0s.yaml'),
      /nodeLocalLoadBalancing:\n\s+enabled: true/,
      `${h.ip} runs with node-local load balancing`,
    );

  // one controller of three stopped: etcd keeps its quorum, the API and the worker carry on
  mustSsh(setup, h3, '/usr/local/bin/k0s stop');
  assert.deepEqual(etcdPeers(setup, h0), peers(h0, h2, h3));
  assert.equal(kubectl(kubeconfig, ['get', '--raw=/readyz']).trim(), 'ok');
  assert.ok(
    kubectlNodes(kubeconfig).some((n) => n.ip === h1.ip && n.ready),
    'the worker stays Ready with a controller stopped',
  );

  // the stopped controller and another one deleted: their etcd members leave through the first
  const delMasters = await berthOk(
    ['delete', '--masters', `${h3.ip},${h2.ip}`, '--cluster', cluster],
    300_000,
  );
  console.log(`delete (2 controllers, one stopped) took ${(delMasters.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(
    kubectlNodes(kubeconfig)
      .map((n) => n.ip)
      .sort(),
    [h0.ip, h1.ip].sort(),
    'the deleted controllers have no Node any more',
  );
  assert.deepEqual(etcdPeers(setup, h0), peers(h0), "the controllers' etcd members left");
  for (const h of [h2, h3]) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);

  await berthOk(['reset', '--cluster', cluster], 300_000);
  for (const h of [h0, h1]) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});

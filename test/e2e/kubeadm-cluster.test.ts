// A kubeadm cluster from the example kubeadm image (no distribution label) on three systemd sandbox hosts,
// through the real CLI: 1 master, then 2 workers added, all Ready as real kubectl sees them, the workers reaching the API
// through their node-local balancer, then a worker deleted (its Node gone, the host as it was before) and
// the cluster reset, leaving every host as it was.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  kubectlNodes,
  mustSsh,
  setupCluster,
  snapshotHost,
} from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';

const tag = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
const skip =
  process.getuid?.() !== 0
    ? 'needs root (sandbox hosts)'
    : testInit === 'sshd' && "the example kubeadm image's check hook needs systemd";

test('kubeadm cluster: 1 master + 2 workers Ready, a worker deleted, reset', { skip }, async (t) => {
  const cluster = 't-kadm-cl';
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 3,
    init: 'systemd',
    image: { tag, distribution: 'kubeadm' },
  });
  const { sb, home } = setup;
  const [h0, h1, h2] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  const kubeconfig = join(home, cluster, 'kubeconfig');
  const before = new Map(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);

  const run = await berthOk(
    ['run', tag, '--sandbox', sb.name, '--cluster', cluster, '--masters', '1', '--nodes', '0'],
    600_000,
  );
  console.log(`run (1 master) took ${(run.ms / 1000).toFixed(1)} s`);
  const add = await berthOk(['add', '--nodes', `${h1.ip},${h2.ip}`, '--cluster', cluster], 600_000);
  console.log(`add (2 workers) took ${(add.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip]);
  assert.match(
    mustSsh(setup, h1, 'cat /etc/berth/apiserver-lb.conf; grep apiserver.cluster.local /etc/hosts'),
    new RegExp(
      `master ${h0.ip.replace(/\./g, '\\.')}\\n[\\s\\S]*10\\.103\\.97\\.2 apiserver\\.cluster\\.local # berth`,
    ),
    'a worker reaches the API through the VIP of its balancer',
  );
  assert.match(
    mustSsh(setup, h1, 'grep -h server: /etc/kubernetes/kubelet.conf'),
    /https:\/\/apiserver\.cluster\.local:6443/,
  );

  const del = await berthOk(['delete', '--nodes', h2.ip, '--cluster', cluster], 300_000);
  console.log(`delete took ${(del.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(
    kubectlNodes(kubeconfig)
      .map((n) => n.ip)
      .sort(),
    [h0.ip, h1.ip].sort(),
    'the deleted worker has no Node any more',
  );
  await assertHostAsBefore(setup, h2, before.get(h2.ip) as HostSnapshot);

  await berthOk(['reset', '--cluster', cluster], 300_000);
  for (const h of [h0, h1]) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});

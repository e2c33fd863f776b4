// Three masters and a node: with the first master's k3s stopped, the node still reaches the API through
// its node-local balancer, and the other masters still serve the whole cluster.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { serviceStatus, stopService } from '../../src/host/services.js';
import {
  assertReadyNodes,
  berthOk,
  hostProcesses,
  kubectlNodes,
  mustSsh,
  runArgs,
  setupCluster,
  ssh,
} from '../helpers/cluster-e2e.js';

const cluster = 't-cl-ha';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('HA: the API stays reachable from a node and from the other masters when master0 stops', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-cl-ha', hosts: 4 });
  const { sb, home } = setup;
  const [m0, m1, m2, node] = sb.hosts as [
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
  ];
  const kubeconfig = join(home, cluster, 'kubeconfig');
  setup.resetOnCleanup(cluster);

  const run = await berthOk(runArgs(setup.sb.name, cluster, { masters: 3, nodes: 1 }));
  console.log(`run (3 masters + 1 node) took ${(run.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [m0.ip, m1.ip, m2.ip, node.ip]);

  // the admin kubeconfig on the node, pointed at the name the node resolves to the balancer's VIP
  const doc = parseDocument(readFileSync(kubeconfig, 'utf8'));
  doc.setIn(['clusters', 0, 'cluster', 'server'], 'https://apiserver.cluster.local:6443');
  const onNode = '/root/t-cl-ha.kubeconfig';
  const kubectlOnNode = `/usr/bin/kubectl --kubeconfig ${onNode} --cache-dir /root/t-cl-ha.kube-cache --request-timeout=3s get nodes -o name`;
  mustSsh(setup, node, `umask 077; cat > ${onNode} <<'EOF'\n${doc.toString()}EOF\n${kubectlOnNode}`);
  setup.onCleanup(() => ssh(setup, node, `rm -rf ${onNode} /root/t-cl-ha.kube-cache`));

  mustSsh(setup, m0, stopService('k3s'));
  const stopped = Date.now();
  assert.notEqual(ssh(setup, m0, serviceStatus('k3s')).status, 0);

  await t.test('the node reaches the API through its balancer', async () => {
    // the balancer probes every 2 s; until it drops master0, a connection may still land there
    let answered = 0;
    let lastError = '';
    for (let i = 0; i < 40 && answered < 5 && Date.now() - stopped < 30_000; i++) {
      const r = ssh(setup, node, kubectlOnNode);
      if (r.status === 0 && r.out.split('\n').filter(Boolean).length === 4) answered++;
      else {
        answered = 0;
        lastError = r.err.trim();
        await sleep(500);
      }
    }
    console.log(`node's kubectl answered 5 times in a row ${Date.now() - stopped} ms after the stop`);
    assert.equal(answered, 5, `kubectl on the node through apiserver.cluster.local: ${lastError}`);
    const dnat = mustSsh(setup, node, 'iptables-save -t nat | grep "^-A BERTH-APISERVER" || :');
    assert.doesNotMatch(dnat, new RegExp(`${m0.ip.replace(/\./g, '\\.')}:6443`));
  });

  await t.test('the other masters still list all four nodes', () => {
    for (const m of [m1, m2]) {
      const ips = kubectlNodes(kubeconfig, `https://${m.ip}:6443`)
        .map((n) => n.ip)
        .sort();
      assert.deepEqual(ips, [m0.ip, m1.ip, m2.ip, node.ip].sort());
    }
  });

  await t.test('reset removes the cluster, also from the stopped master', async () => {
    const r = await berthOk(['reset', '--cluster', cluster]);
    console.log(`reset took ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal(existsSync(join(home, cluster)), false);
    for (const h of sb.hosts) {
      const left = mustSsh(
        setup,
        h,
        'ls -d /var/lib/berth /etc/berth /etc/rancher /var/lib/rancher /usr/local/bin/k3s /run/k3s 2>/dev/null || :',
      );
      assert.equal(left, '', `${h.ip} still has: ${left}`);
      const procs = hostProcesses(h).filter((p) => /k3s|containerd|apiserver-lb|registry/.test(p));
      assert.deepEqual(procs, [], `${h.ip} still runs: ${procs.join('; ')}`);
    }
  });
});

// A k0s cluster of 2 controllers + 1 worker upgraded from the example image's k0s to the next minor through
// the real CLI: the dry run and the upgrade take the controllers first, one at a time, then the worker, each
// drained and uncordoned; every Node then reports the new kubelet, the API answers, no init or join runs
// again, and reset leaves the hosts as they were.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildExampleImage } from '../../examples/example-image.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  kubectl,
  setupCluster,
  snapshotHost,
} from '../helpers/cluster-e2e.js';

const cluster = 't-k0s-up';
const [from, to] = ['v1.29.4+k0s.0', 'v1.30.2+k0s.0'];
const image = (v: string) => `example/k0s:${v.replace('+', '-')}`;
const skip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

/** The `HOST STEP` of every step line a run logged, in order. */
const stepLines = (text: string) => [...text.matchAll(/^ {2}(\d+\.\d+\.\d+\.\d+ \S+):/gm)].map((m) => m[1]);

test('k0s upgrade: controllers one at a time, then the worker, to the next minor', { skip }, async (t) => {
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 3,
    image: { tag: image(from), distribution: 'k0s', version: from },
  });
  const { sb, home } = setup;
  const [c0, c1, w] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  await buildExampleImage({ tag: image(to), workDir: join(home, 'build'), distribution: 'k0s', version: to });
  const kubeconfig = join(home, cluster, 'kubeconfig');
  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);

  const run = await berthOk(
    ['run', image(from), '--sandbox', sb.name, '--cluster', cluster, '--masters', '2', '--nodes', '1'],
    600_000,
  );
  console.log(`run on ${from} (2 controllers + 1 worker) took ${(run.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [c0.ip, c1.ip, w.ip]);

  // the engine's steps name the Kubernetes version, the driver's the k0s version
  const kube = to.replace(/\+k0s\.\d+$/, '');
  const order = [c0, c1, w].flatMap((h) => [
    `${c0.ip} drain-${h.ip}-${kube}`,
    `${h.ip} upgrade-${to}`,
    `${c0.ip} uncordon-${h.ip}-${kube}`,
    `${c0.ip} ready-${h.ip}-${kube}`,
  ]);
  const upgradeSteps = (text: string) =>
    stepLines(text).filter((s) => / (drain|upgrade|uncordon|ready)-/.test(s as string));
  const dry = await berthOk(['upgrade', image(to), '--cluster', cluster, '--dry-run']);
  assert.deepEqual(upgradeSteps(dry.stdout), order, dry.stdout);
  assert.ok(!/leave-etcd/.test(dry.stdout), `an upgrade removes no etcd member:\n${dry.stdout}`);

  const up = await berthOk(['upgrade', image(to), '--cluster', cluster], 600_000);
  console.log(`upgrade ${from} -> ${to} took ${(up.ms / 1000).toFixed(1)} s`);
  assert.deepEqual(upgradeSteps(up.stderr), order, 'controllers first, one at a time, then the worker');
  assert.ok(
    !stepLines(up.stderr).some((s) => / (init|join)$/.test(s as string)),
    'no init or join ran again',
  );
  assertReadyNodes(kubeconfig, [c0.ip, c1.ip, w.ip]);
  const kubelets = kubectl(kubeconfig, [
    'get',
    'nodes',
    '-o',
    'jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion}{"\\n"}{end}',
  ])
    .trim()
    .split('\n');
  assert.deepEqual(kubelets, ['v1.30.2', 'v1.30.2', 'v1.30.2']);
  const idle = await berthOk(['upgrade', image(to), '--cluster', cluster], 300_000);
  assert.deepEqual(upgradeSteps(idle.stderr), [], 'a finished upgrade does nothing');

  await berthOk(['reset', '--cluster', cluster], 300_000);
  for (const h of sb.hosts) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});

// Kubernetes upgrades of one kubeadm cluster (the example kubeadm image at three versions) on three systemd
// sandbox hosts, through the real CLI: 1 master + 2 nodes installed on 1.28; an upgrade to 1.30 refused in
// one line with the hosts untouched; the upgrade to 1.29 killed with SIGKILL at five points of the upgrade
// phase (a kill counts only when the journal grew), then a run that converges without re-running a journaled
// step, and a run that does nothing; then the upgrade to 1.30 in one go: masters first, then nodes, one host
// at a time, the bytes sent printed, every Node on v1.30 through real kubectl, the API server on v1.30, the
// app's pod still running; reset leaves the hosts as they were.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildExampleImage } from '../../examples/example-image.js';
import { Journal } from '../../src/apply/journal.js';
import {
  assertHostAsBefore,
  berth,
  berthOk,
  type HostSnapshot,
  kubectl,
  mustSsh,
  setupCluster,
  snapshotHost,
  startBerth,
} from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';

const cluster = 't-kadm-up';
const image = (v: string) => `example/kubeadm:${v}`;
const [v128, v129, v130] = ['v1.28.15', 'v1.29.3', 'v1.30.3'];
const skip =
  process.getuid?.() !== 0
    ? 'needs root (sandbox hosts)'
    : testInit === 'sshd' && "the example kubeadm image's check hook needs systemd";

/** The `HOST STEP` of every step line a run logged, in order. */
const stepLines = (stderr: string) =>
  [...stderr.matchAll(/^ {2}(\d+\.\d+\.\d+\.\d+ \S+):/gm)].map((m) => m[1]);

test('kubeadm upgrade: 1.28 -> 1.30 refused, 1.29 through five kills, 1.30 in order', { skip }, async (t) => {
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 3,
    init: 'systemd',
    image: { tag: image(v128), distribution: 'kubeadm', version: v128 },
  });
  const { sb, home } = setup;
  const [h0, n1, n2] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  for (const v of [v129, v130])
    await buildExampleImage({
      tag: image(v),
      workDir: join(home, 'build'),
      distribution: 'kubeadm',
      version: v,
    });
  const dir = join(home, cluster);
  const kubeconfig = join(dir, 'kubeconfig');
  const journalPath = join(dir, 'journal.jsonl');
  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);

  const run = await berthOk(
    ['run', image(v128), '--sandbox', sb.name, '--cluster', cluster, '--masters', '1', '--nodes', '2'],
    600_000,
  );
  console.log(`run on ${v128} (1 master + 2 nodes) took ${(run.ms / 1000).toFixed(1)} s`);
  // an app whose pod must survive the drains: it moves between the nodes
  kubectl(kubeconfig, ['create', 'deployment', 'keep', '--image=sealos.hub:5000/pause:3.9']);
  kubectl(kubeconfig, ['rollout', 'status', 'deployment/keep', '--timeout=180s']);

  // 1.28 -> 1.30 skips a minor: one line, exit 3, nothing changed on the hosts or here
  const tree = `cat /etc/kubernetes/manifests/*.yaml 2>/dev/null | sha256sum; find /var/lib/berth/${cluster}/rootfs -type f -exec sha256sum {} + | sort | sha256sum; sha256sum /usr/bin/kubeadm /usr/bin/kubelet`;
  const hostsBefore = sb.hosts.map((h) => mustSsh(setup, h, tree));
  const stateBefore = [readFileSync(join(dir, 'Clusterfile'), 'utf8'), readFileSync(journalPath, 'utf8')];
  const refused = await berth(['upgrade', image(v130), '--cluster', cluster], 300_000);
  assert.equal(refused.code, 3, refused.stderr);
  const lastLines = refused.stderr.trim().split('\n');
  assert.match(
    lastLines.at(-1) ?? '',
    /example\/kubeadm:v1\.30\.3: the cluster runs Kubernetes v1\.28\.15 and the image carries v1\.30\.3: Kubernetes upgrades one minor version at a time; apply an image of v1\.29 first$/,
  );
  assert.deepEqual(stepLines(refused.stderr), [], 'no step ran');
  assert.deepEqual(
    sb.hosts.map((h) => mustSsh(setup, h, tree)),
    hostsBefore,
    'the hosts are untouched',
  );
  assert.deepEqual(
    [readFileSync(join(dir, 'Clusterfile'), 'utf8'), readFileSync(journalPath, 'utf8')],
    stateBefore,
  );

  // the dry run prints the upgrade plan: masters first, then the nodes, each drained and uncordoned
  const dry = await berthOk(['upgrade', image(v129), '--cluster', cluster, '--dry-run'], 300_000);
  const planned = [...dry.stdout.matchAll(/^ {2}(\S+ (?:drain|upgrade|uncordon|ready)-\S+):/gm)].map(
    (m) => m[1],
  );
  const order = (to: string) =>
    [h0, n1, n2].flatMap((h) => [
      `${h0.ip} drain-${h.ip}-${to}`,
      `${h.ip} upgrade-${to}`,
      `${h0.ip} uncordon-${h.ip}-${to}`,
      `${h0.ip} ready-${h.ip}-${to}`,
    ]);
  assert.deepEqual(planned, order(v129), dry.stdout);

  // SIGKILL in the upgrade phase 300 ms after a later step started each time (a node's steps take about a
  // second), until five kills came after the journal grew
  const steps = order(v129);
  const targets = [1, 3, 5, 6, 9, 10, 11];
  const journalSize = () =>
    existsSync(journalPath) ? readFileSync(journalPath, 'utf8').split('\n').filter(Boolean).length : 0;
  let counted = 0;
  const journalBefore = journalSize();
  let lastEntries = journalBefore;
  for (const target of targets) {
    if (counted >= 5) break;
    const { child, done } = startBerth(['upgrade', image(v129), '--cluster', cluster]);
    let seen = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (!timer && stepLines(seen).includes(steps[target]))
        timer = setTimeout(() => {
          if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
        }, 300);
    });
    const r = await done;
    if (timer) clearTimeout(timer);
    await Journal.open(journalPath);
    const entries = journalSize();
    if (r.signal !== 'SIGKILL') {
      assert.equal(r.code, 0, `an upgrade between kills failed:\n${r.stderr}`);
      console.log(`the upgrade finished before its kill at ${steps[target]}`);
      break;
    }
    const grew = entries > lastEntries;
    if (grew) counted++;
    console.log(
      `upgrade killed in ${steps[target]}; journal has ${entries} entries${grew ? '' : ', no more than before: not counted'}`,
    );
    lastEntries = entries;
  }
  assert.ok(counted >= 5, `only ${counted} kills came after the journal grew`);
  // the steps journaled since the upgrade began (the install's hook-init is another step of the same id)
  const journaled = readFileSync(journalPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(journalBefore)
    .map((l) => JSON.parse(l) as { host: string; step: string })
    .map((e) => `${e.host} ${e.step}`);
  const resumed = await berthOk(['upgrade', image(v129), '--cluster', cluster], 600_000);
  assert.deepEqual(
    stepLines(resumed.stderr).filter((s) => journaled.includes(s as string)),
    [],
    'the run after the kills ran again steps the journal shows done',
  );
  const versions = () =>
    kubectl(kubeconfig, [
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion}{"\\n"}{end}',
    ])
      .trim()
      .split('\n');
  assert.deepEqual(versions(), [v129, v129, v129]);
  const idle = await berthOk(['upgrade', image(v129), '--cluster', cluster], 300_000);
  assert.deepEqual(stepLines(idle.stderr), [], 'a finished upgrade does nothing');

  // 1.29 -> 1.30 in one go
  const up = await berthOk(['upgrade', image(v130), '--cluster', cluster], 600_000);
  console.log(`upgrade ${v129} -> ${v130} took ${(up.ms / 1000).toFixed(1)} s`);
  for (const line of up.stderr.split('\n').filter((l) => /sent from this machine/.test(l)))
    console.log(line.trim());
  assert.match(up.stderr, /rootfs on 3 host\(s\): .* sent from this machine/);
  assert.deepEqual(
    stepLines(up.stderr).filter((s) => / (drain|upgrade|uncordon|ready)-/.test(s as string)),
    order(v130),
    'masters first, then nodes, one host at a time',
  );
  assert.ok(
    !stepLines(up.stderr).some((s) => / (init|join)$/.test(s as string)),
    'no init or join ran again',
  );
  assert.deepEqual(versions(), [v130, v130, v130]);
  assert.match(kubectl(kubeconfig, ['version', '-o', 'json']), /"gitVersion": "v1\.30\.3"/);
  assert.match(
    kubectl(kubeconfig, [
      '-n',
      'kube-system',
      'get',
      'configmap',
      'kubeadm-config',
      '-o',
      'jsonpath={.data.ClusterConfiguration}',
    ]),
    /kubernetesVersion: v1\.30\.3/,
  );
  assert.match(
    mustSsh(setup, h0, 'grep -h "image:" /etc/kubernetes/manifests/kube-apiserver.yaml'),
    /kube-apiserver:v1\.30\.3/,
  );
  kubectl(kubeconfig, ['rollout', 'status', 'deployment/keep', '--timeout=180s']);
  assert.match(
    kubectl(kubeconfig, ['get', 'pods', '-l', 'app=keep', '-o', 'jsonpath={.items[*].status.phase}']),
    /Running/,
  );

  await berthOk(['reset', '--cluster', cluster], 300_000);
  for (const h of sb.hosts) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});

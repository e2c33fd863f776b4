// The fault campaign's short form, run by CI, on each runtime's example image: on k3s one SIGKILL each in
// run, add and delete, a link cut in the middle of a join and a reboot during one; on kubeadm (slower to
// install) one SIGKILL of run, the link cut and the reboot. bench/chaos.ts is the long form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
import { imageRef, setupCluster } from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';
import { runCampaign } from './campaign.js';

const seedOf = () => Number(process.env.BERTH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

test('k3s: after SIGKILLs, a cut link and a reboot, the next run converges and no state file is corrupt', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-chaos', hosts: 3 });
  const cluster = 't-chaos';
  setup.resetOnCleanup(cluster);
  const seed = seedOf();
  const r = await runCampaign({
    image: imageRef,
    sandbox: setup.sb,
    cluster,
    home: setup.home,
    kills: 3,
    seed,
    linkCut: true,
    reboot: true,
    say: (line) => console.log(line),
  });
  assert.deepEqual(r.failures, [], `seed ${seed}`);
  assert.equal(r.converged, r.injected);
  assert.equal(r.corrupt, 0);
  assert.equal(r.injected, 5, `seed ${seed}: 3 kills, a link cut and a reboot`);
});

const kubeadmSkip =
  process.getuid?.() !== 0
    ? 'needs root (sandbox hosts)'
    : testInit === 'sshd' && "the example kubeadm image's check hook needs systemd";

test('kubeadm: after a SIGKILL, a cut link and a reboot, the next run converges and no state file is corrupt', {
  skip: kubeadmSkip,
}, async (t) => {
  const tag = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
  const cluster = 't-chaos-kadm';
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 3,
    init: 'systemd',
    image: { tag, distribution: 'kubeadm' },
  });
  setup.resetOnCleanup(cluster);
  const seed = seedOf();
  const r = await runCampaign({
    image: tag,
    sandbox: setup.sb,
    cluster,
    home: setup.home,
    kills: 1,
    seed,
    linkCut: true,
    reboot: true,
    joinStep: 'join',
    commandTimeoutMs: 600_000,
    say: (line) => console.log(line),
  });
  assert.deepEqual(r.failures, [], `seed ${seed}`);
  assert.equal(r.converged, r.injected);
  assert.equal(r.corrupt, 0);
  assert.equal(r.injected, 3, `seed ${seed}: a kill, a link cut and a reboot`);
});

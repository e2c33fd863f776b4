// The fault campaign's short form, run by CI: one SIGKILL each in run, add and delete, a link cut in the
// middle of a join and a reboot during one, on the example image. bench/chaos.ts is the long form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageRef, setupCluster } from '../helpers/cluster-e2e.js';
import { runCampaign } from './campaign.js';

test('after SIGKILLs, a cut link and a reboot, the next run converges and no state file is corrupt', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-chaos', hosts: 3 });
  const cluster = 't-chaos';
  setup.resetOnCleanup(cluster);
  const seed = Number(process.env.BERTH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
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

// One runtime's case of the fault campaign's short form, run by CI (test/chaos/faults-*.test.ts, a file
// per runtime so that each stays well inside the runner's per-file timeout): on k3s one SIGKILL each in
// run, add and delete, a link cut in the middle of a join and a reboot during one; on kubeadm (slower to
// install) one SIGKILL of run, one of an upgrade to the next minor, the link cut and the reboot; on k0s
// one SIGKILL of run, one of an upgrade and the reboot (cheaper there than the link cut, which waits out
// SSH keepalives; k3s and kubeadm cover the link cut). bench/chaos.ts is the long form, with every fault
// on every runtime.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setupCluster } from '../helpers/cluster-e2e.js';
import { runCampaign } from './campaign.js';
import { buildUpgradeChain, type ChaosRuntime, chaosRuntimes, exampleTag } from './runtimes.js';

const seedOf = () => Number(process.env.BERTH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The campaign on `runtime`'s example image of its own version, upgraded to the next (k3s: none). */
export async function campaignCase(
  t: TestContext,
  runtime: keyof typeof chaosRuntimes,
  cluster: string,
  faults: { kills: number; linkCut: boolean; reboot: boolean; injected: number },
): Promise<void> {
  const rt: ChaosRuntime = chaosRuntimes[runtime];
  // the example's own version and the one after it; k3s has none
  const versions = rt.versions.slice(-2);
  const image = exampleTag(rt.distribution, versions[0]);
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 3,
    ...(rt.init ? { init: rt.init } : {}),
    ...(versions[0] ? { image: { tag: image, distribution: rt.distribution, version: versions[0] } } : {}),
  });
  setup.resetOnCleanup(cluster);
  const upgrades = await buildUpgradeChain(rt.distribution, versions, setup.home);
  const seed = seedOf();
  const started = Date.now();
  const r = await runCampaign({
    image,
    upgrades,
    sandbox: setup.sb,
    cluster,
    home: setup.home,
    seed,
    ...faults,
    joinStep: rt.joinStep,
    commandTimeoutMs: 600_000,
    say: (line) => console.log(line),
  });
  console.log(`campaign of ${runtime} (seed ${seed}) took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  assert.deepEqual(r.failures, [], `seed ${seed}`);
  assert.equal(r.converged, r.injected);
  assert.equal(r.corrupt, 0);
  assert.equal(r.injected, faults.injected, `seed ${seed}: faults injected`);
}

// The fault campaign's long form: 20 SIGKILLs of berth (BENCH_CHAOS_KILLS) at random moments spread over
// run, add, delete and (on kubeadm and k0s) upgrade, a link cut in the middle of a join and a reboot
// during one, on a fresh sandbox of 3 hosts. The seed is printed (BENCH_CHAOS_SEED replays a campaign).
// The cluster image is the example image of the runtime BENCH_CHAOS_RUNTIME names (k3s, kubeadm or k0s),
// installed on the first version of its upgrade chain (test/chaos/runtimes.ts; kubeadm's hosts boot
// systemd). Prints `faults injected N / converged N / corrupt state N` and exits 1 unless every fault
// converged with no corrupt state. Needs root; everything is torn down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kills = Number(process.env.BENCH_CHAOS_KILLS ?? 20);
const seed = Number(process.env.BENCH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runtime = process.env.BENCH_CHAOS_RUNTIME ?? 'k3s';
const home = mkdtempSync(join(tmpdir(), 'berth-bench-chaos-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { buildExampleImage } = await import('../examples/example-image.js');
const { runCampaign } = await import('../test/chaos/campaign.js');
const { buildUpgradeChain, chaosRuntimes, exampleTag } = await import('../test/chaos/runtimes.js');
const { runBerth } = await import('../test/helpers/run-berth.js');

const rt = Object.hasOwn(chaosRuntimes, runtime)
  ? chaosRuntimes[runtime as keyof typeof chaosRuntimes]
  : undefined;
if (!rt)
  throw new Error(`BENCH_CHAOS_RUNTIME=${runtime}: give one of ${Object.keys(chaosRuntimes).join(', ')}`);

const sandbox = `bchaos-${process.pid}`;
const cluster = 'chaos';
try {
  const image = exampleTag(rt.distribution, rt.versions[0]);
  await buildExampleImage({
    tag: image,
    workDir: join(home, 'build'),
    distribution: rt.distribution,
    ...(rt.versions[0] ? { version: rt.versions[0] } : {}),
  });
  const upgrades = await buildUpgradeChain(rt.distribution, rt.versions, home);
  const sb = await sandboxUp({ name: sandbox, hosts: 3, ...('init' in rt ? { init: rt.init } : {}) });
  const started = Date.now();
  try {
    const r = await runCampaign({
      image,
      upgrades,
      joinStep: rt.joinStep,
      sandbox: sb,
      cluster,
      home,
      kills,
      seed,
      linkCut: true,
      reboot: true,
      commandTimeoutMs: 600_000,
      say: (line) => console.log(line),
    });
    console.log(`campaign of ${runtime} (seed ${seed}) took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const f of r.failures) console.log(`FAILED: ${f}`);
    if (r.failures.length > 0 || r.converged !== r.injected || r.corrupt > 0) process.exitCode = 1;
  } finally {
    await runBerth(['reset', '--cluster', cluster]);
    await sandboxDown(sandbox);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

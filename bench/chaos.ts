// The fault campaign's long form: 20 SIGKILLs of berth (BENCH_CHAOS_KILLS) at random moments spread over
// run, add and delete, a link cut in the middle of a join and a reboot during one, on a fresh sandbox of 3
// hosts. The seed is printed (BENCH_CHAOS_SEED replays a campaign). The cluster image is the example image
// of the runtime BENCH_CHAOS_RUNTIME names (k3s or kubeadm; kubeadm's hosts boot systemd). Prints
// `faults injected N / converged N / corrupt state N` and exits 1 unless every fault converged with no
// corrupt state. Needs root; everything is torn down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kills = Number(process.env.BENCH_CHAOS_KILLS ?? 20);
const seed = Number(process.env.BENCH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runtime = process.env.BENCH_CHAOS_RUNTIME ?? 'k3s';
const home = mkdtempSync(join(tmpdir(), 'berth-bench-chaos-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { buildExampleImage, KUBEADM_EXAMPLE_VERSION } = await import('../examples/example-image.js');
const { runCampaign } = await import('../test/chaos/campaign.js');
const { runBerth } = await import('../test/helpers/run-berth.js');

// each runtime's example image, built into BERTH_HOME's store, and the id of its driver's node join step
const kubeadmRef = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
const examples: Record<
  string,
  { ref: string; joinStep: string; init?: 'systemd'; build: () => Promise<unknown> }
> = {
  k3s: {
    ref: 'example/k3s:v1.28',
    joinStep: 'join',
    build: () => buildExampleImage({ tag: 'example/k3s:v1.28', workDir: join(home, 'build') }),
  },
  kubeadm: {
    ref: kubeadmRef,
    joinStep: 'join',
    // its check hook wants systemd, as on the servers kubeadm is made for
    init: 'systemd',
    build: () =>
      buildExampleImage({ tag: kubeadmRef, workDir: join(home, 'build'), distribution: 'kubeadm' }),
  },
};
const example = examples[runtime];
if (!example)
  throw new Error(`BENCH_CHAOS_RUNTIME=${runtime}: give one of ${Object.keys(examples).join(', ')}`);

const sandbox = `bchaos-${process.pid}`;
const cluster = 'chaos';
try {
  await example.build();
  const sb = await sandboxUp({ name: sandbox, hosts: 3, ...(example.init ? { init: example.init } : {}) });
  const started = Date.now();
  try {
    const r = await runCampaign({
      image: example.ref,
      joinStep: example.joinStep,
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

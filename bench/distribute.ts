// How the rootfs distribution scales with hosts when links, not CPU, are the limit: every sandbox host's
// link and the bridge (what this machine sends) are capped with tbf (BENCH_BANDWIDTH, 50mbit by default,
// far below what SSH manages on these 2 cores, so the link dominates), and the example k3s image carries
// an incompressible payload (BENCH_PAYLOAD_MB, 500 by default) in its rootfs. `berth run` onto 1+1 hosts
// and onto 1+20 hosts (BENCH_NODES) on fresh sandboxes: wall time of the whole run and of the
// distribution phase, their ratio (target <= 1.5), and the bytes this machine sent into the bridge
// (tc -s counters). Then the time of an unchanged re-apply of a 10-host cluster (target < 5 s; that
// sandbox is uncapped, as the re-apply moves no data). Everything is torn down. Needs root.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bandwidth = process.env.BENCH_BANDWIDTH ?? '50mbit';
const payloadMb = Number(process.env.BENCH_PAYLOAD_MB ?? 500);
const bigNodes = Number(process.env.BENCH_NODES ?? 20);
const reapplyHosts = 10;
const home = mkdtempSync(join(tmpdir(), 'berth-bench-dist-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { buildExampleImage } = await import('../examples/example-image.js');
const berthMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const image = 'bench/k3s-payload:v1';

interface Timed {
  code: number;
  ms: number;
  /** Wall time of the `distribute the rootfs` phase, from berth's phase lines. */
  phaseMs?: number;
  tail: string[];
}

function berth(args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [berthMain, ...args], {
      env: { ...process.env, CI: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const tail: string[] = [];
    let phaseStart: number | undefined;
    let phaseMs: number | undefined;
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('==> ')) {
          if (phaseStart !== undefined && phaseMs === undefined) phaseMs = Date.now() - phaseStart;
          if (line === '==> distribute the rootfs') phaseStart = Date.now();
        }
        tail.push(line);
        if (tail.length > 15) tail.shift();
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, ms: Date.now() - start, phaseMs, tail }));
  });
}

/** Bytes the bridge's qdisc has sent: everything this machine sent to the hosts. */
function bridgeSent(bridge: string): number | undefined {
  const r = spawnSync('tc', ['-s', 'qdisc', 'show', 'dev', bridge], { encoding: 'utf8' });
  const m = /Sent (\d+) bytes/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

const secs = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
const mib = (n: number | undefined) => (n === undefined ? '?' : `${(n / 1024 / 1024).toFixed(0)} MiB`);

async function onSandbox<T>(
  name: string,
  hosts: number,
  rate: string | undefined,
  fn: (bridge: string) => Promise<T>,
): Promise<T> {
  const sb = await sandboxUp({ name, hosts, ...(rate ? { bandwidth: rate } : {}) });
  try {
    return await fn(sb.bridge);
  } finally {
    await sandboxDown(name).catch((err: Error) => {
      console.error(`sandbox down ${name}: ${err.message}`);
      process.exitCode = 1;
    });
  }
}

async function runCluster(cluster: string, sandbox: string, nodes: number): Promise<Timed> {
  const r = await berth([
    'run',
    image,
    '--sandbox',
    sandbox,
    '--masters',
    '1',
    '--nodes',
    String(nodes),
    '--cluster',
    cluster,
  ]);
  if (r.code !== 0) throw new Error(`berth run onto 1+${nodes} hosts failed:\n${r.tail.join('\n')}`);
  return r;
}

async function reset(cluster: string): Promise<void> {
  const r = await berth(['reset', '--cluster', cluster]);
  if (r.code !== 0) console.error(`berth reset --cluster ${cluster} failed: ${r.tail.at(-1)}`);
}

async function distribution(nodes: number): Promise<Timed & { sent?: number }> {
  const cluster = `bd-${nodes}`;
  return onSandbox(`bd-${process.pid}-${nodes}`, 1 + nodes, bandwidth, async (bridge) => {
    const before = bridgeSent(bridge);
    try {
      const r = await runCluster(cluster, `bd-${process.pid}-${nodes}`, nodes);
      const after = bridgeSent(bridge);
      const sent = before !== undefined && after !== undefined ? after - before : undefined;
      console.log(
        `berth run onto 1+${nodes} hosts: ${secs(r.ms)} (distribute the rootfs: ${secs(r.phaseMs)}), ${mib(sent)} sent by this machine`,
      );
      return { ...r, sent };
    } finally {
      await reset(cluster);
    }
  });
}

try {
  const built = Date.now();
  await buildExampleImage({
    tag: image,
    workDir: join(home, 'build'),
    payloadBytes: payloadMb * 1024 * 1024,
  });
  console.log(`example image with a ${payloadMb} MiB random payload built in ${secs(Date.now() - built)}`);
  console.log(`links capped at ${bandwidth} (every host link and the bridge)`);
  const small = await distribution(1);
  const big = await distribution(bigNodes);
  const ratio = (a?: number, b?: number) => (a && b ? (b / a).toFixed(2) : '?');
  console.log(
    `ratio 1+${bigNodes} / 1+1: whole run ${ratio(small.ms, big.ms)}, distribution phase ${ratio(small.phaseMs, big.phaseMs)} (target <= 1.5)`,
  );
  if (small.sent && big.sent)
    console.log(`bytes sent by this machine, 1+${bigNodes} / 1+1: ${(big.sent / small.sent).toFixed(2)}`);

  await onSandbox(`bd-${process.pid}-re`, reapplyHosts, undefined, async () => {
    const cluster = 'bd-reapply';
    try {
      const first = await runCluster(cluster, `bd-${process.pid}-re`, reapplyHosts - 1);
      console.log(`berth run onto ${reapplyHosts} hosts (uncapped): ${secs(first.ms)}`);
      const again = await runCluster(cluster, `bd-${process.pid}-re`, reapplyHosts - 1);
      console.log(`unchanged re-apply of ${reapplyHosts} hosts: ${secs(again.ms)} (target < 5 s)`);
    } finally {
      await reset(cluster);
    }
  });
} finally {
  rmSync(home, { recursive: true, force: true });
}

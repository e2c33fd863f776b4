// Soak: a node added to and deleted from a 1+5 sandbox cluster (a master, four nodes that stay, the one
// that comes and goes) BENCH_SOAK_CYCLES times (100 by default), on the example image of the runtime
// BENCH_SOAK_RUNTIME names (k3s by default, kubeadm, whose hosts boot systemd, or k0s). After the first cycle and after the last, with the
// node deleted both times, it counts on each host: /etc/hosts lines, iptables rules (iptables-save in the
// host's network namespace), processes and mounts; and here: berth's open file descriptors (add and
// delete run in this process, so a leak accumulates across cycles), processes below this one, and the size
// of each state file of the cluster. It prints both columns and exits 1 when a count grew: the cluster
// has the same hosts at both points, so it needs nothing more. Needs root; everything is torn down.
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const cycles = Number(process.env.BENCH_SOAK_CYCLES ?? 100);
if (!Number.isInteger(cycles) || cycles < 2) throw new Error(`BENCH_SOAK_CYCLES=${cycles}: give 2 or more`);
const home = mkdtempSync(join(tmpdir(), 'berth-bench-soak-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { buildExampleImage, K0S_EXAMPLE_VERSION, KUBEADM_EXAMPLE_VERSION } = await import(
  '../examples/example-image.js'
);
const { addHosts, deleteHosts } = await import('../src/apply/scale.js');
const { setQuiet } = await import('../src/util/log.js');
const { hostProcesses, iptablesRules, mustSsh } = await import('../test/helpers/cluster-e2e.js');
const { runBerth } = await import('../test/helpers/run-berth.js');
const { stateProblems } = await import('../test/chaos/state-files.js');

const images = {
  k3s: 'example/k3s:v1.28',
  kubeadm: `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`,
  k0s: `example/k0s:${K0S_EXAMPLE_VERSION.replace('+', '-')}`,
} as const;
const runtime = (process.env.BENCH_SOAK_RUNTIME ?? 'k3s') as keyof typeof images;
if (!Object.hasOwn(images, runtime))
  throw new Error(`BENCH_SOAK_RUNTIME=${runtime}: give ${Object.keys(images).join(', ')}`);
const image = images[runtime];
const cluster = 'soak';
const sandbox = `bsoak-${process.pid}`;
type Counts = Map<string, number>;

/** Counts that settle after a cycle (SSH sessions and their user managers end a few seconds later). */
async function settled(measure: () => number, floor: number | undefined): Promise<number> {
  let least = measure();
  for (let i = 0; i < 20 && floor !== undefined && least > floor; i++) {
    await sleep(1000);
    least = Math.min(least, measure());
  }
  return least;
}

/** Processes below this one on this machine's network (the sandbox hosts' processes are counted per host). */
function descendants(pid: number): number {
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const netns = (p: number | 'self') => {
    try {
      return readlinkSync(`/proc/${p}/ns/net`);
    } catch {
      return undefined;
    }
  };
  const own = netns('self');
  let n = 0;
  const stack = children(pid);
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const p = stack.pop() as number;
    if (netns(p) !== own) continue;
    n++;
    stack.push(...children(p));
  }
  return n;
}

try {
  const started = Date.now();
  await buildExampleImage({ tag: image, workDir: join(home, 'build'), distribution: runtime });
  // kubeadm's example image checks for systemd, as the servers kubeadm is made for have it
  const sb = await sandboxUp({
    name: sandbox,
    hosts: 6,
    ...(runtime === 'kubeadm' ? { init: 'systemd' } : {}),
  });
  const knownHosts = join(home, 'soak_known_hosts');
  writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
  const on = { sb, knownHosts };
  const [master, ...nodes] = sb.hosts.map((h) => h.ip);
  const cycled = nodes.pop() as string;
  try {
    const run = await runBerth([
      'run',
      image,
      '--sandbox',
      sandbox,
      '--masters',
      master as string,
      '--nodes',
      nodes.join(','),
      '--cluster',
      cluster,
    ]);
    if (run.code !== 0) throw new Error(`berth run exited ${run.code}:\n${run.stderr}`);
    console.log(
      `${runtime}: image built, sandbox up and 1+${nodes.length} cluster applied in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    setQuiet(true);
    const options = { concurrency: 20, readyTimeout: 300, appTimeout: 300 };

    const count = async (baseline?: Counts): Promise<Counts> => {
      const c: Counts = new Map();
      // a systemd host's user manager of the last SSH login stops 10 s after it: processes first, then SSH
      await sleep(12_000);
      for (const h of sb.hosts) {
        const key = `${h.ip} processes`;
        c.set(key, await settled(() => hostProcesses(h).length, baseline?.get(key)));
      }
      for (const h of sb.hosts) {
        const inside = mustSsh(on, h, 'wc -l < /etc/hosts; wc -l < /proc/self/mounts').trim().split(/\s+/);
        c.set(`${h.ip} /etc/hosts lines`, Number(inside[0]));
        c.set(`${h.ip} mounts`, Number(inside[1]));
        const save = spawnSync('ip', ['netns', 'exec', h.netns, 'iptables-save'], { encoding: 'utf8' });
        c.set(`${h.ip} iptables rules`, iptablesRules(save.stdout).length);
      }
      const fdKey = 'here: berth open fds';
      c.set(fdKey, await settled(() => readdirSync('/proc/self/fd').length, baseline?.get(fdKey)));
      const procKey = 'here: processes below berth (this netns)';
      c.set(procKey, await settled(() => descendants(process.pid), baseline?.get(procKey)));
      const dir = join(home, cluster);
      for (const name of readdirSync(dir).sort()) {
        const st = statSync(join(dir, name));
        if (st.isFile()) c.set(`here: ${name} bytes`, st.size);
      }
      return c;
    };

    let first: Counts | undefined;
    const t0 = Date.now();
    for (let i = 1; i <= cycles; i++) {
      await addHosts(cluster, undefined, cycled, options);
      await deleteHosts(cluster, undefined, cycled, options);
      if (i === 1) first = await count();
      if (i % 10 === 0 || i === cycles)
        console.log(`cycle ${i}: ${((Date.now() - t0) / 1000 / i).toFixed(1)} s per add + delete`);
    }
    const last = await count(first);
    const problems = await stateProblems(home, cluster);

    const width = Math.max(...[...last.keys()].map((k) => k.length));
    console.log(`${'count'.padEnd(width)}  cycle 1  cycle ${cycles}`);
    const grew: string[] = [];
    for (const [k, v] of last) {
      const was = first?.get(k);
      // a file's size moves by the few bytes of a timestamp or token; a line count must not move
      const slack = k.endsWith(' bytes') ? Math.max(256, (was ?? 0) * 0.02) : 0;
      const mark = was === undefined || v > was + slack ? '  <- grew' : '';
      if (mark) grew.push(k);
      console.log(
        `${k.padEnd(width)}  ${String(was ?? '-').padStart(7)}  ${String(v).padStart(7 + String(cycles).length - 1)}${mark}`,
      );
    }
    for (const p of problems) console.log(`state: ${p}`);
    if (grew.length > 0 || problems.length > 0) {
      console.log(
        `FAIL: ${grew.length} count(s) grew over ${cycles} cycles, ${problems.length} state problem(s)`,
      );
      process.exitCode = 1;
    } else console.log(`no growth over ${cycles} add/delete cycles`);
    setQuiet(false);
    const reset = await runBerth(['reset', '--cluster', cluster]);
    if (reset.code !== 0) console.error(`berth reset: ${reset.stderr.trim().split('\n').at(-1)}`);
  } finally {
    await sandboxDown(sandbox);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

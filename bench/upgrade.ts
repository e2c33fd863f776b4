// What a Kubernetes upgrade costs on a slow link: a kubeadm cluster of 1 master + 5 nodes (BENCH_NODES) from
// the example kubeadm image on v1.29.3, every host link and the bridge capped (BENCH_BANDWIDTH, 10mbit by
// default), each image carrying its own incompressible payload (BENCH_PAYLOAD_MB, 100 by default: the new
// version's binaries and images, which differ whole between releases), then `berth upgrade` to v1.30.3.
// Printed: the bytes this machine sent during the upgrade (the bridge's tc counters) against the bytes of
// the files that differ between the two images' rootfs (size or sha256; target ratio <= 1.1), and the
// upgrade's wall time against copying just those files once to one host over the same link with ssh+tar,
// measured in this run (target <= 1.5). Everything is torn down. Needs root and systemd.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const bandwidth = process.env.BENCH_BANDWIDTH ?? '10mbit';
const payloadMb = Number(process.env.BENCH_PAYLOAD_MB ?? 100);
const nodes = Number(process.env.BENCH_NODES ?? 5);
const [from, to] = ['v1.29.3', 'v1.30.3'];
const home = mkdtempSync(join(tmpdir(), 'berth-bench-upgrade-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { buildExampleImage } = await import('../examples/example-image.js');
const berthMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const image = (v: string) => `bench/kubeadm:${v}`;
const cluster = 'bu';
const sandbox = `bu-${process.pid}`;

interface Timed {
  code: number;
  ms: number;
  stdout: string;
  tail: string[];
  /** berth's lines saying what each tree copy sent from this machine. */
  sentLines: string[];
  /** Each phase (`==> title`) and step (`  HOST STEP: what`) line, with the ms since berth started. */
  marks: { ms: number; line: string }[];
}

function berth(args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [berthMain, ...args], {
      env: { ...process.env, CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const tail: string[] = [];
    const sentLines: string[] = [];
    const marks: { ms: number; line: string }[] = [];
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        if (/sent from this machine/.test(line)) sentLines.push(line.trim());
        if (/^(==> | {2}\S+ \S+: )/.test(line)) marks.push({ ms: Date.now() - start, line: line.trim() });
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? 1, ms: Date.now() - start, stdout, tail, sentLines, marks }),
    );
  });
}

async function berthOk(args: string[]): Promise<Timed> {
  const r = await berth(args);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}:\n${r.tail.join('\n')}`);
  return r;
}

function bridgeSent(bridge: string): number | undefined {
  const r = spawnSync('tc', ['-s', 'qdisc', 'show', 'dev', bridge], { encoding: 'utf8' });
  const m = /Sent (\d+) bytes/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** The files of `newer` whose size or sha256 differ from `older`'s (or that it lacks), copied under `into`. */
async function differing(
  older: string,
  newer: string,
  into: string,
): Promise<{ bytes: number; count: number }> {
  let bytes = 0;
  let count = 0;
  for (const rel of files(newer)) {
    const a = join(older, rel);
    const b = join(newer, rel);
    const sb = statSync(b);
    const sa = statSync(a, { throwIfNoEntry: false });
    if (sa?.isFile() && sa.size === sb.size && (await sha256(a)) === (await sha256(b))) continue;
    bytes += sb.size;
    count++;
    mkdirSync(dirname(join(into, rel)), { recursive: true });
    cpSync(b, join(into, rel));
  }
  return { bytes, count };
}

/** The unpacked root of `ref` (berth create), for comparing files. */
async function unpacked(ref: string, name: string): Promise<string> {
  return (await berthOk(['create', ref, '--name', name])).stdout.trim().split('\n').pop() as string;
}

/** Wall time of `tar -C dir -c . | ssh host tar -x` into a scratch dir, which is removed afterwards. */
function copyOnce(dir: string, ip: string, key: string, knownHosts: string): number {
  const sshArgs = `-i ${key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes root@${ip}`;
  const start = Date.now();
  const r = spawnSync(
    'sh',
    [
      '-c',
      `tar -C ${dir} -cf - . | ssh ${sshArgs} 'rm -rf /tmp/peer-copy && mkdir /tmp/peer-copy && tar -C /tmp/peer-copy -xf -'`,
    ],
    { encoding: 'utf8' },
  );
  const ms = Date.now() - start;
  if (r.status !== 0) throw new Error(`ssh+tar to ${ip} failed: ${r.stderr}`);
  spawnSync('sh', ['-c', `ssh ${sshArgs} rm -rf /tmp/peer-copy`]);
  return ms;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Where a berth run's time went: each phase's wall time, and the slowest steps (a step lasts until the
 * next phase or step line; the last one until berth ended).
 */
function timeline(r: Timed, slowest = 12): string[] {
  const spans = r.marks.map((m, i) => ({ line: m.line, ms: (r.marks[i + 1]?.ms ?? r.ms) - m.ms }));
  const phases: { line: string; ms: number }[] = [];
  for (const [i, m] of r.marks.entries()) {
    if (!m.line.startsWith('==> ')) continue;
    const next = r.marks.slice(i + 1).find((n) => n.line.startsWith('==> '));
    phases.push({ line: m.line.slice(4), ms: (next?.ms ?? r.ms) - m.ms });
  }
  const steps = spans.filter((s) => !s.line.startsWith('==> ')).sort((a, b) => b.ms - a.ms);
  const first = r.marks[0]?.ms ?? r.ms;
  return [
    `  before the first phase: ${secs(first)}`,
    ...phases.map((p) => `  phase ${secs(p.ms).padStart(8)}  ${p.line}`),
    `  slowest steps:`,
    ...steps.slice(0, slowest).map((s) => `    ${secs(s.ms).padStart(8)}  ${s.line.slice(0, 110)}`),
  ];
}
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

try {
  const built = Date.now();
  for (const v of [from, to])
    await buildExampleImage({
      tag: image(v),
      workDir: join(home, 'build'),
      distribution: 'kubeadm',
      version: v,
      payloadBytes: payloadMb * 1024 * 1024,
    });
  console.log(
    `kubeadm example images ${from} and ${to} (${payloadMb} MiB payload each) built in ${secs(Date.now() - built)}`,
  );
  const diffDir = join(home, 'differing');
  const diff = await differing(
    await unpacked(image(from), 'bu-old'),
    await unpacked(image(to), 'bu-new'),
    diffDir,
  );
  await berthOk(['umount', 'bu-old']);
  await berthOk(['umount', 'bu-new']);
  console.log(`files that differ between the two rootfs: ${diff.count}, ${mib(diff.bytes)}`);

  const sb = await sandboxUp({ name: sandbox, hosts: 1 + nodes, bandwidth, init: 'systemd' });
  try {
    console.log(`links capped at ${bandwidth} (every host link and the bridge)`);
    const knownHosts = join(home, 'known_hosts');
    writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
    const run = await berthOk([
      'run',
      image(from),
      '--sandbox',
      sandbox,
      '--masters',
      '1',
      '--nodes',
      String(nodes),
      '--cluster',
      cluster,
    ]);
    console.log(`berth run ${from} onto 1+${nodes} hosts: ${secs(run.ms)}`);
    const before = bridgeSent(sb.bridge);
    const up = await berthOk(['upgrade', image(to), '--cluster', cluster]);
    const after = bridgeSent(sb.bridge);
    const sent = before !== undefined && after !== undefined ? after - before : undefined;
    console.log(`berth upgrade ${from} -> ${to} of 1+${nodes} hosts: ${secs(up.ms)}`);
    for (const line of up.sentLines) console.log(`  ${line}`);
    for (const line of timeline(up)) console.log(line);
    const peer = copyOnce(diffDir, sb.hosts[1]?.ip as string, sb.keyPath, knownHosts);
    console.log(`ssh+tar of the differing files to one host: ${secs(peer)}`);
    if (sent !== undefined)
      console.log(
        `bytes sent by this machine during the upgrade: ${mib(sent)} / differing files ${mib(diff.bytes)} = ${(sent / diff.bytes).toFixed(2)} (target <= 1.1)`,
      );
    console.log(
      `upgrade time / one copy of the differing files: ${(up.ms / peer).toFixed(2)} (target <= 1.5)`,
    );
    await berthOk(['reset', '--cluster', cluster]);
  } finally {
    await sandboxDown(sandbox).catch((err: Error) => {
      console.error(`sandbox down ${sandbox}: ${err.message}`);
      process.exitCode = 1;
    });
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

// What one very long output line costs `berth exec`: every host of a fresh sandbox (BENCH_HOSTS, 3 by
// default) prints one line of BENCH_LINE_MB (50 by default) characters, and the same bytes again as
// 100-character lines. Wall time and peak RSS of berth (GNU time), against OpenSSH's ssh client run on every
// host at once, which only copies the bytes; the ratios are berth / ssh. Needs root and /usr/bin/time; run
// under the sandbox lock.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const hostCount = Number(process.env.BENCH_HOSTS ?? 3);
const lineMb = Number(process.env.BENCH_LINE_MB ?? 50);
const home = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const berthMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const name = `bx-${process.pid}`;
const bytes = lineMb * 1024 * 1024;
const oneLine = `head -c ${bytes} /dev/zero | tr '\\0' x; echo`;
const shortLines = `head -c ${bytes} /dev/zero | tr '\\0' x | fold -w 99; echo`;

interface Measured {
  secs: number;
  rssMb: number;
}

/** Runs a command under GNU time, output to /dev/null; its wall time and peak RSS. */
function measure(cmd: string[]): Measured {
  const r = spawnSync('/usr/bin/time', ['-f', 'BENCH %e %M', ...cmd], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
  const m = /BENCH ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd.join(' ')} failed: ${r.stderr.slice(-500)}`);
  return { secs: Number(m[1]), rssMb: Number(m[2]) / 1024 };
}

const sb = await sandboxUp({ name, hosts: hostCount });
try {
  const ssh = (command: string) => {
    const each = sb.hosts.map(
      (h) =>
        `ssh -i ${sb.keyPath} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p ${h.port} root@${h.ip} "${command}" >/dev/null &`,
    );
    return measure(['sh', '-c', `${each.join(' ')} wait`]);
  };
  const berth = (command: string) =>
    measure([process.execPath, berthMain, 'exec', '--sandbox', name, '--', command]);
  const show = (what: string, b: Measured, s: Measured) =>
    console.log(
      `${what}: berth ${b.secs.toFixed(1)} s, ${b.rssMb.toFixed(0)} MiB RSS; ssh ${s.secs.toFixed(1)} s, ${s.rssMb.toFixed(0)} MiB RSS; berth/ssh time ${(b.secs / s.secs).toFixed(1)}`,
    );
  console.log(`${hostCount} hosts, ${lineMb} MiB of output per host`);
  show('one line per host', berth(oneLine), ssh(oneLine));
  show('100-character lines', berth(shortLines), ssh(shortLines));
} finally {
  await sandboxDown(name);
  rmSync(home, { recursive: true, force: true });
}

// Brings 20, then 100 sandbox hosts up and measures the seconds until `up` returns (every systemd host
// says `running`) and until every host answers a real `ssh true` with the sandbox key, against the 30 s
// and 60 s targets; then the hosts' memory: the PSS of their processes and, on systemd hosts, what their
// memory cgroups are charged (page cache included); then tears them down. The same sizes with
// `--init sshd` are measured in the same run for comparison. Needs root. BENCH_SIZES=20,100 and
// BENCH_INITS=systemd,sshd choose what runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sizes = (process.env.BENCH_SIZES ?? '20,100').split(',').map(Number);
const inits = (process.env.BENCH_INITS ?? 'systemd,sshd').split(',') as Array<'systemd' | 'sshd'>;
const targets: Record<number, number> = { 20: 30, 100: 60 };
const home = mkdtempSync(join(tmpdir(), 'berth-bench-sandbox-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');
const { readRecord } = await import('../src/sandbox/store.js');

function sshTrue(keyPath: string, ip: string): Promise<number | null> {
  return new Promise((resolve) => {
    const args = ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    args.push('-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=30', `root@${ip}`, 'true');
    const child = spawn('ssh', args, { stdio: 'ignore' });
    child.on('close', resolve);
    child.on('error', () => resolve(null));
  });
}

function netnsPids(netns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cgroupChargeBytes(dirs: string[]): number {
  const mem = dirs.find((d) => d.includes('/memory/'));
  if (!mem) return 0;
  try {
    return Number(readFileSync(join(mem, 'memory.usage_in_bytes'), 'utf8').trim());
  } catch {
    return 0;
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

let failedAny = false;
for (const init of inits) {
  for (const hosts of sizes) {
    const name = `bench-${init}-${hosts}`;
    const target = targets[hosts] ?? Math.ceil(hosts * 0.6);
    const start = process.hrtime.bigint();
    try {
      const sb = await sandboxUp({ name, hosts, init });
      const upSeconds = Number(process.hrtime.bigint() - start) / 1e9;
      const codes = await Promise.all(sb.hosts.map((h) => sshTrue(sb.keyPath, h.ip)));
      const allSsh = Number(process.hrtime.bigint() - start) / 1e9;
      const failed = codes.filter((c) => c !== 0).length;
      const rec = await readRecord(name);
      // memory once the logins are over (the user managers they started stop 10 s after)
      await new Promise((r) => setTimeout(r, 12_000));
      let pss = 0;
      let charged = 0;
      for (const h of rec?.hosts ?? []) {
        for (const pid of netnsPids(h.netns)) pss += pssKiB(pid) * 1024;
        charged += cgroupChargeBytes(h.cgroups ?? []);
      }
      const mem =
        `memory: processes ${mib(pss)} MiB PSS in all, ${mib(pss / hosts)} MiB per host` +
        (charged ? `; memory cgroups ${mib(charged)} MiB in all, ${mib(charged / hosts)} MiB per host` : '');
      console.log(
        `${hosts} ${init} hosts: up (${init === 'systemd' ? 'all running' : 'sshd listening'}) after ${upSeconds.toFixed(2)} s, all answered ssh after ${allSsh.toFixed(2)} s  ratio ${(allSsh / target).toFixed(2)} of the ${target} s target${failed ? `  (${failed} ssh logins FAILED)` : ''}`,
      );
      console.log(`  ${mem}`);
      if (failed) failedAny = true;
    } catch (err) {
      console.log(`${hosts} ${init} hosts: up FAILED: ${(err as Error).message}`);
      failedAny = true;
    } finally {
      const downStart = process.hrtime.bigint();
      await sandboxDown(name).catch((err: Error) => {
        if (!/does not exist/.test(err.message)) {
          console.error(`sandbox down failed: ${err.message}`);
          failedAny = true;
        }
      });
      console.log(`  down: ${(Number(process.hrtime.bigint() - downStart) / 1e9).toFixed(2)} s`);
    }
  }
}
if (failedAny) process.exitCode = 1;
rmSync(home, { recursive: true, force: true });

// Brings 20 sandbox hosts up and measures the seconds until every one answers SSH (a real `ssh true`
// with the sandbox key, not just an open port), against the 30 s target; then tears them down. Needs root.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hosts = Number(process.env.BENCH_HOSTS ?? 20);
const target = 30;
const home = mkdtempSync(join(tmpdir(), 'berth-bench-sandbox-'));
process.env.BERTH_HOME = home;
const { sandboxDown, sandboxUp } = await import('../src/sandbox/index.js');

function sshTrue(keyPath: string, ip: string): Promise<number | null> {
  return new Promise((resolve) => {
    const args = ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    args.push('-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `root@${ip}`, 'true');
    const child = spawn('ssh', args, { stdio: 'ignore' });
    child.on('close', resolve);
    child.on('error', () => resolve(null));
  });
}

const name = `bench-${process.pid}`;
const start = process.hrtime.bigint();
try {
  const sb = await sandboxUp({ name, hosts });
  const portsOpen = Number(process.hrtime.bigint() - start) / 1e9;
  const codes = await Promise.all(sb.hosts.map((h) => sshTrue(sb.keyPath, h.ip)));
  const allSsh = Number(process.hrtime.bigint() - start) / 1e9;
  const failed = codes.filter((c) => c !== 0).length;
  console.log(`sandbox up, ${hosts} hosts: sshd listening after ${portsOpen.toFixed(2)} s`);
  console.log(
    `all ${hosts} hosts answered ssh after ${allSsh.toFixed(2)} s  ratio ${(allSsh / target).toFixed(2)} of the ${target} s target${failed ? `  (${failed} ssh logins FAILED)` : ''}`,
  );
  if (failed) process.exitCode = 1;
} finally {
  const downStart = process.hrtime.bigint();
  await sandboxDown(name).catch((err: Error) => {
    console.error(`sandbox down failed: ${err.message}`);
    process.exitCode = 1;
  });
  console.log(`sandbox down: ${(Number(process.hrtime.bigint() - downStart) / 1e9).toFixed(2)} s`);
  rmSync(home, { recursive: true, force: true });
}

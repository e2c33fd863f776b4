import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLoopbackSshd } from '../helpers/loopback-sshd.js';
import { runBerth } from '../helpers/run-berth.js';

// exec and scp against a real sshd on 127.0.0.1 exit with README's codes: 5 for a refused login or an
// unreachable host (as apply) or a connection lost under a command, 6 for a changed host key, 10 past --timeout, 7 for a failed command, and
// the code of the failure nearest to this machine when hosts fail in different ways.

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('exec and scp exit codes from a real berth process against a loopback sshd', async (t) => {
  const sshd = await startLoopbackSshd(t);
  const home = mkdtempSync(join(tmpdir(), 't-exit-codes-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = { BERTH_HOME: home };
  const host = `127.0.0.1:${sshd.port}`;
  const key = ['-i', sshd.keyPath];
  const expect = async (args: string[], code: number, stderr?: RegExp) => {
    const r = await runBerth(args, env);
    assert.equal(r.code, code, `berth ${args.join(' ')}: ${r.stderr}`);
    if (stderr) assert.match(r.stderr, stderr, `berth ${args.join(' ')}`);
  };

  await expect(['exec', '--hosts', host, ...key, '--', 'true'], 0);
  await expect(['exec', '--hosts', host, ...key, '--', 'false'], 7, /exited 1/);
  await expect(['exec', '--hosts', host, '-p', 't-exit-Wr0ng', '--', 'true'], 5, /user root was refused/);
  await expect(
    ['exec', '--hosts', host, ...key, '--timeout', '1', '--', 'sleep 5'],
    10,
    /still running after 1 s/,
  );
  // the session's sshd killed under the command: the connection ends with no exit status, which is a
  // lost connection (5), not a failed command (7)
  await expect(
    ['exec', '--hosts', host, ...key, '--', 'kill -9 $(ps -o ppid= -p $$)'],
    5,
    /connection .*lost|lost .*connection/i,
  );
  const unreachable = `127.0.0.1:${await closedPort()}`;
  await expect(['exec', '--hosts', `${host},${unreachable}`, ...key, '--', 'false'], 5, /connection refused/);
  // --json: a row per host, the unreachable one with its error instead of a code
  const json = await runBerth(
    ['exec', '--hosts', `${host},${unreachable}`, ...key, '--json', '--', 'echo out; echo err >&2; exit 3'],
    env,
  );
  assert.equal(json.code, 5, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<{ host: string; code: number | null; error?: string }>;
  assert.deepEqual(rows[0], { host, code: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.equal(rows[1]?.host, unreachable);
  assert.equal(rows[1]?.code, null);
  assert.match(rows[1]?.error ?? '', /connection refused/);
  const file = join(home, 'f');
  writeFileSync(file, 'x');
  await expect(['scp', '--hosts', host, ...key, file, ':/proc/t-exit-codes/'], 7);
  await expect(['scp', '--hosts', `${host},${unreachable}`, ...key, file, ':/proc/t-exit-codes/'], 5);
  await sshd.rotateHostKey();
  await expect(['exec', '--hosts', host, ...key, '--', 'true'], 6, /host key changed/);
});

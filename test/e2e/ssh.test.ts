import assert from 'node:assert/strict';
import { type ChildProcess, execSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SandboxHost } from '../../src/sandbox/index.js';
import { copyToHosts, execOnHosts, type HostSpec, SshPool, throwOnFailure } from '../../src/ssh/index.js';
import { ConnectError, HostKeyError, InterruptedError } from '../../src/util/errors.js';
import { withSandbox } from '../helpers/sandbox.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const SANDBOX = 't-ssh-1';

/** Fingerprint of a whole tree: sha256 of the sorted `sha256sum` lines of every file. */
const TREE_SUM = `find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1`;

function makeTree(dir: string): number {
  let bytes = 0;
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(dir, `d${d}`, 'sub'), { recursive: true });
    for (let f = 0; f < 100; f++) {
      const data = randomBytes(1024 + ((d * 100 + f) % 16) * 512);
      writeFileSync(join(dir, `d${d}`, f % 2 ? 'sub' : '', `f${f}.bin`), data, {
        mode: f % 7 === 0 ? 0o755 : 0o644,
      });
      bytes += data.length;
    }
  }
  for (let b = 0; b < 4; b++) {
    const data = randomBytes(45 * 1024 * 1024);
    writeFileSync(join(dir, `big${b}.img`), data);
    bytes += data.length;
  }
  return bytes;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

test('ssh layer against three sandbox hosts', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 't-ssh-home-'));
  process.env.BERTH_HOME = home;
  const sb = await withSandbox(t, { name: SANDBOX, hosts: 3 });
  // After-hooks run in the order they were added: the sandbox goes down before its records are removed.
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const hosts = sb.hosts;
  const root = (h: SandboxHost): HostSpec => ({
    host: h.ip,
    port: h.port,
    privateKeyPath: sb.keyPath,
    hostKey: h.hostKey,
  });
  const pool = new SshPool({ connectTimeoutMs: 10_000 });
  t.after(() => pool.closeAll());
  const specs = hosts.map(root);

  await t.test('exec on 3 hosts streams output per host', async () => {
    const lines: string[] = [];
    const started = performance.now();
    const outcomes = await execOnHosts(pool, specs, 'uname -n; echo to-stderr >&2', {
      onLine: (host, line, stream) => lines.push(`${host} ${stream} ${line}`),
    });
    const cold = performance.now() - started;
    const results = throwOnFailure(outcomes);
    assert.deepEqual(
      results.map((r) => r.stdout.trim()),
      hosts.map((h) => h.name),
    );
    for (const h of hosts) {
      assert.ok(lines.includes(`${h.ip} stdout ${h.name}`), `no stdout line from ${h.ip}`);
      assert.ok(lines.includes(`${h.ip} stderr to-stderr`), `no stderr line from ${h.ip}`);
    }
    const rounds = 20;
    const warmStart = performance.now();
    for (let i = 0; i < rounds; i++) throwOnFailure(await execOnHosts(pool, specs, 'true'));
    const warm = (performance.now() - warmStart) / rounds;
    t.diagnostic(
      `exec on 3 hosts: ${cold.toFixed(0)} ms with connecting, ${warm.toFixed(1)} ms per command on open connections`,
    );
  });

  await t.test('berth exec --sandbox prints prefixed lines and a summary', () => {
    const r = cli(['exec', '--sandbox', SANDBOX, '--', 'uname', '-n']);
    assert.equal(r.status, 0, r.stderr);
    for (const h of hosts)
      assert.match(r.stdout, new RegExp(`^${h.ip.replace(/\./g, '\\.')}: ${h.name}$`, 'm'));
    assert.match(r.stderr, /exec: 3 of 3 hosts succeeded/);
    const bad = cli(['exec', '--sandbox', SANDBOX, '--', `test "$(uname -n)" = ${hosts[0]?.name}`]);
    assert.equal(bad.status, 7);
    assert.match(bad.stderr, /exec: 1 of 3 hosts succeeded/);
  });

  await t.test('a 200 MB tree goes to 3 hosts once; a second copy sends no file data', async (tt) => {
    const local = mkdtempSync(join(tmpdir(), 't-ssh-tree-'));
    tt.after(() => rmSync(local, { recursive: true, force: true }));
    const total = makeTree(local);
    const dest = '/opt/t-ssh-tree';
    let started = performance.now();
    const first = throwOnFailure(await copyToHosts(pool, specs, local, dest));
    const firstMs = performance.now() - started;
    for (const r of first) assert.deepEqual(r, { bytesSent: total, filesSent: 2004, filesSkipped: 0 });
    started = performance.now();
    const second = throwOnFailure(await copyToHosts(pool, specs, local, dest));
    const secondMs = performance.now() - started;
    for (const r of second) assert.deepEqual(r, { bytesSent: 0, filesSent: 0, filesSkipped: 2004 });
    const want = execSync(TREE_SUM, { cwd: local, encoding: 'utf8' }).trim();
    const sums = throwOnFailure(await execOnHosts(pool, specs, `cd ${dest} && ${TREE_SUM}`));
    for (const s of sums) assert.equal(s.stdout.trim(), want);
    const modes = throwOnFailure(
      await execOnHosts(pool, specs, `stat -c %a ${dest}/d3/sub/f7.bin ${dest}/d3/sub/f1.bin`),
    );
    for (const m of modes) assert.equal(m.stdout, '755\n644\n');
    tt.diagnostic(
      `copy of ${(total / 1048576).toFixed(0)} MiB (2004 files) to 3 hosts: first ${(firstMs / 1000).toFixed(2)} s, unchanged ${(secondMs / 1000).toFixed(2)} s`,
    );
    const r = cli(['scp', '--sandbox', SANDBOX, local, `:${dest}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /sent 0 files \(0 B\), 2004 already there/);
  });

  await t.test('sudo as the non-root user, with and without a sudo password', async () => {
    const user = (h: SandboxHost, extra: Partial<HostSpec> = {}): HostSpec => ({
      host: h.ip,
      port: h.port,
      user: h.user,
      password: h.userPassword,
      hostKey: h.hostKey,
      ...extra,
    });
    const withPassword = throwOnFailure(
      await execOnHosts(
        pool,
        hosts.map((h) => user(h)),
        'id -u',
        { sudo: true },
      ),
    );
    assert.deepEqual(
      withPassword.map((r) => r.stdout),
      ['0\n', '0\n', '0\n'],
    );
    const h0 = hosts[0] as SandboxHost;
    const wrong = 't-ssh-not-the-password';
    const wrongPool = new SshPool();
    t.after(() => wrongPool.closeAll());
    const s = await wrongPool.session(user(h0, { sudoPassword: wrong }));
    await assert.rejects(s.exec('id -u', { sudo: true }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(
        err.message,
        `${h0.ip}: sudo refused the password of user ${h0.user}; give the right sudo password`,
      );
      return true;
    });
    await (await pool.session(root(h0))).putFile(
      Buffer.from(`${h0.user} ALL=(ALL) NOPASSWD: ALL\n`),
      '/etc/sudoers.d/berth',
      {
        mode: 0o440,
      },
    );
    const keyOnly = new SshPool();
    t.after(() => keyOnly.closeAll());
    const k = await keyOnly.session({
      host: h0.ip,
      port: h0.port,
      user: h0.user,
      privateKeyPath: sb.keyPath,
      hostKey: h0.hostKey,
    });
    assert.equal((await k.exec('id -u', { sudo: true })).stdout, '0\n');
    const r = cli(['exec', '--sandbox', SANDBOX, '-u', h0.user, '--sudo', '--', 'id', '-un']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.endsWith(': root')).length, 3);
  });

  await t.test('a changed host key is refused, and replaced with --accept-host-key', async () => {
    const [h0, h1] = hosts as [SandboxHost, SandboxHost];
    const wrongKey = h1.hostKey.trim().split(/\s+/).slice(0, 2).join(' ');
    writeFileSync(join(home, 'known_hosts'), `${h0.ip} ${wrongKey}\n`);
    const args = ['exec', '--hosts', h0.ip, '-i', sb.keyPath, '--', 'true'];
    const refused = cli(args);
    assert.equal(refused.status, 6);
    assert.match(
      refused.stderr,
      new RegExp(
        `^${h0.ip.replace(/\./g, '\\.')}: host key changed: recorded SHA256:\\S+, now offered \\S+ SHA256:\\S+; .*--accept-host-key`,
        'm',
      ),
    );
    const p = new SshPool();
    t.after(() => p.closeAll());
    await assert.rejects(p.session({ host: h0.ip, privateKeyPath: sb.keyPath }), HostKeyError);
    const accepted = cli([...args.slice(0, -2), '--accept-host-key', '--', 'true']);
    assert.equal(accepted.status, 0, accepted.stderr);
    const recorded = readFileSync(join(home, 'known_hosts'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(1, 3)
      .join(' ');
    assert.equal(recorded, h0.hostKey.trim().split(/\s+/).slice(0, 2).join(' '));
    assert.equal(cli(args).status, 0);
  });

  await t.test(
    'an unreachable address and a wrong password each fail within the timeout in one line',
    async () => {
      const unused = sb.subnet.replace(/\.\d+\/\d+$/, '.250');
      const p = new SshPool({ connectTimeoutMs: 3000 });
      t.after(() => p.closeAll());
      let started = performance.now();
      await assert.rejects(p.session({ host: unused, privateKeyPath: sb.keyPath }), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.ok(err.message.startsWith(`${unused}: `) && !err.message.includes('\n'), err.message);
        return true;
      });
      assert.ok(performance.now() - started < 4500);
      const h0 = hosts[0] as SandboxHost;
      const password = 't-ssh-Wrong-Pa55';
      started = performance.now();
      const freshHome = mkdtempSync(join(tmpdir(), 't-ssh-home-'));
      t.after(() => rmSync(freshHome, { recursive: true, force: true }));
      const r = cli(['exec', '--hosts', `${h0.ip}:${h0.port}`, '--', 'true'], {
        BERTH_SSH_PASSWORD: password,
        BERTH_HOME: freshHome,
      });
      assert.equal(r.status, 5);
      assert.ok(!r.stderr.includes(password) && !r.stdout.includes(password));
      assert.match(
        r.stderr,
        new RegExp(`^${h0.ip.replace(/\./g, '\\.')}: user root was refused \\(tried password\\)`, 'm'),
      );
      assert.ok(performance.now() - started < 10_000);
    },
  );

  await t.test('abort and Ctrl-C stop the remote commands', async () => {
    const h0 = hosts[0] as SandboxHost;
    const s = await pool.session(root(h0));
    const running = async () => (await s.exec(`pgrep -f '^[s]leep 1001$' || true`)).stdout.trim();
    const ac = new AbortController();
    const sudoPool = new SshPool();
    t.after(() => sudoPool.closeAll());
    const asUser = await sudoPool.session({
      host: h0.ip,
      port: h0.port,
      user: h0.user,
      password: h0.userPassword,
      hostKey: h0.hostKey,
    });
    const runs = [
      s.exec('sleep 1001', { signal: ac.signal }),
      asUser.exec('sleep 1001', { sudo: true, signal: ac.signal }),
    ];
    for (let i = 0; i < 50 && (await running()).split('\n').length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await running()).split('\n').length, 2);
    ac.abort();
    for (const r of await Promise.allSettled(runs))
      assert.ok(r.status === 'rejected' && r.reason instanceof InterruptedError);
    assert.equal(await running(), '');

    const child: ChildProcess = spawn(bin, ['exec', '--sandbox', SANDBOX, '--', 'sleep', '1001'], {
      stdio: 'pipe',
    });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 100 && (await running()) === ''; i++) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(await running(), '');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const all = throwOnFailure(await execOnHosts(pool, specs, `pgrep -f '^[s]leep 1001$' || true`));
    assert.deepEqual(
      all.map((r) => r.stdout),
      ['', '', ''],
    );
  });
});

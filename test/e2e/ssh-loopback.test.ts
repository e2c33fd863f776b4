import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SshPool } from '../../src/ssh/index.js';
import {
  ConnectError,
  HostKeyError,
  InterruptedError,
  RemoteCommandError,
  TimeoutError,
} from '../../src/util/errors.js';
import { startLoopbackSshd } from '../helpers/loopback-sshd.js';

// Against a real sshd started on 127.0.0.1 by the test itself (root login with a key).

function tempHome(t: import('node:test').TestContext): string {
  const home = mkdtempSync(join(tmpdir(), 't-ssh-home-'));
  process.env.BERTH_HOME = home;
  t.after(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

test('exec, host keys, cancellation and tree copy against a loopback sshd', async (t) => {
  const home = tempHome(t);
  const sshd = await startLoopbackSshd(t);
  const spec = { host: '127.0.0.1', port: sshd.port, privateKeyPath: sshd.keyPath };
  const pool = new SshPool({ connectTimeoutMs: 5000 });
  t.after(() => pool.closeAll());
  const remoteDir = `/tmp/t-ssh-loop-${sshd.port}`;
  t.after(() => rmSync(remoteDir, { recursive: true, force: true }));

  await t.test('runs commands on one reused connection, streaming lines', async () => {
    const s = await pool.session(spec);
    const lines: string[] = [];
    const r = await s.exec('echo one; echo two >&2; echo three', {
      onLine: (l, st) => lines.push(`${st}:${l}`),
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'one\nthree\n');
    assert.deepEqual(lines.sort(), ['stderr:two', 'stdout:one', 'stdout:three']);
    assert.equal(await pool.session(spec), s);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => s.exec(`echo ${i}`)));
    const started = performance.now();
    for (let i = 0; i < 20; i++) await s.exec('true');
    t.diagnostic(`loopback exec latency: ${((performance.now() - started) / 20).toFixed(1)} ms per command`);
    assert.deepEqual(
      many.map((m) => m.stdout.trim()),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  await t.test('a 50 MB line streams out in bounded pieces, kept nowhere when not collected', async () => {
    const s = await pool.session(spec);
    let pieces = 0;
    let chars = 0;
    let longest = 0;
    const r = await s.exec(`head -c ${50 * 1024 * 1024} /dev/zero | tr '\\0' x; echo; echo end`, {
      collect: false,
      onLine: (l) => {
        pieces++;
        chars += l.length;
        longest = Math.max(longest, l.length);
      },
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(chars, 50 * 1024 * 1024 + 'end'.length);
    assert.equal(longest, 64 * 1024);
    assert.equal(pieces, 50 * 16 + 1);
  });

  await t.test('records the host key on first use in OpenSSH format', () => {
    const text = readFileSync(join(home, 'known_hosts'), 'utf8');
    const pub = readFileSync(`${sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    assert.equal(text, `[127.0.0.1]:${sshd.port} ${pub}\n`);
  });

  await t.test('a non-zero exit throws one line with the last stderr line, unless allowed', async () => {
    const s = await pool.session(spec);
    await assert.rejects(s.exec('echo first >&2; echo last words >&2; exit 3'), (err: unknown) => {
      assert.ok(err instanceof RemoteCommandError);
      assert.equal(err.exitStatus, 3);
      assert.match(err.message, new RegExp(`^127.0.0.1:${sshd.port}: .*exited 3: last words$`));
      return true;
    });
    assert.equal((await s.exec('exit 4', { allowFailure: true })).code, 4);
  });

  await t.test('abort and timeout stop the remote command', async () => {
    const s = await pool.session(spec);
    const marker = `t-ssh-sleep-${sshd.port}`;
    const ac = new AbortController();
    const started = Date.now();
    const run = s.exec(`sh -c 'sleep 1000; echo ${marker}' & wait`, { signal: ac.signal });
    const pids = async () => (await s.exec(`pgrep -f '[s]leep 1000; echo ${marker}' || true`)).stdout;
    for (let i = 0; i < 100 && (await pids()) === ''; i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(await pids(), /\d/);
    ac.abort();
    await assert.rejects(run, InterruptedError);
    assert.ok(Date.now() - started < 5000);
    for (let i = 0; i < 100 && (await pids()) !== ''; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await pids(), '');
    await assert.rejects(s.exec('sleep 1000', { timeoutMs: 300 }), TimeoutError);
  });

  await t.test('copies a tree, then sends nothing when unchanged, then only the changed file', async () => {
    const local = mkdtempSync(join(tmpdir(), 't-ssh-tree-'));
    t.after(() => rmSync(local, { recursive: true, force: true }));
    mkdirSync(join(local, 'a/b'), { recursive: true });
    writeFileSync(join(local, 'a/b/x.txt'), 'x'.repeat(1000));
    writeFileSync(join(local, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    writeFileSync(join(local, "we'ird name.txt"), 'odd');
    const s = await pool.session(spec);
    const first = await s.putTree(local, remoteDir);
    assert.deepEqual(first, { bytesSent: 1021, filesSent: 3, filesSkipped: 0 });
    assert.equal(readFileSync(join(remoteDir, 'a/b/x.txt'), 'utf8'), 'x'.repeat(1000));
    assert.equal((await s.exec(`stat -c %a ${remoteDir}/run.sh`)).stdout.trim(), '755');
    const second = await s.putTree(local, remoteDir);
    assert.deepEqual(second, { bytesSent: 0, filesSent: 0, filesSkipped: 3 });
    writeFileSync(join(local, 'a/b/x.txt'), 'y'.repeat(1000));
    const third = await s.putTree(local, remoteDir);
    assert.deepEqual(third, { bytesSent: 1000, filesSent: 1, filesSkipped: 2 });
    assert.equal(readFileSync(join(remoteDir, 'a/b/x.txt'), 'utf8'), 'y'.repeat(1000));
    assert.equal((await s.exec(`ls -a ${remoteDir} | grep -c berth-stage || true`)).stdout.trim(), '0');
  });

  await t.test('puts a buffer and fetches it back', async () => {
    const s = await pool.session(spec);
    const data = Buffer.from('hello\nworld\n');
    await s.putFile(data, `${remoteDir}/conf/hello.conf`, { mode: 0o600 });
    assert.equal((await s.exec(`stat -c %a ${remoteDir}/conf/hello.conf`)).stdout.trim(), '600');
    const back = join(mkdtempSync(join(tmpdir(), 't-ssh-fetch-')), 'hello.conf');
    t.after(() => rmSync(join(back, '..'), { recursive: true, force: true }));
    await s.fetchFile(`${remoteDir}/conf/hello.conf`, back);
    assert.equal(
      createHash('sha256').update(readFileSync(back)).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
  });

  await t.test('a wrong password fails with one line without the password', async () => {
    const p = new SshPool({ connectTimeoutMs: 5000 });
    t.after(() => p.closeAll());
    const password = 't-ssh-Wr0ngPass';
    await assert.rejects(p.session({ host: '127.0.0.1', port: sshd.port, password }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.ok(!err.message.includes(password));
      assert.ok(!err.message.includes('\n'));
      assert.match(err.message, /^127\.0\.0\.1:\d+: user root was refused/);
      return true;
    });
  });

  await t.test('a changed host key is refused, and accepted with the override', async () => {
    await pool.closeAll();
    await sshd.rotateHostKey();
    const strict = new SshPool({ connectTimeoutMs: 5000 });
    t.after(() => strict.closeAll());
    await assert.rejects(strict.session(spec), (err: unknown) => {
      assert.ok(err instanceof HostKeyError);
      assert.match(
        err.message,
        /host key changed: recorded SHA256:\S+, now offered ssh-ed25519 SHA256:\S+; .*--accept-host-key/,
      );
      return true;
    });
    const lenient = new SshPool({ connectTimeoutMs: 5000, acceptNewHostKey: true });
    t.after(() => lenient.closeAll());
    await (await lenient.session(spec)).exec('true');
    const again = new SshPool({ connectTimeoutMs: 5000 });
    t.after(() => again.closeAll());
    await (await again.session(spec)).exec('true');
  });
});

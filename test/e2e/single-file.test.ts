// berth as one file: `npm run package`'s output, copied alone into an empty directory and run with a PATH
// of /usr/bin:/bin and no node_modules in reach, must behave as ./bin/berth does, up to a cluster run onto
// sandbox hosts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildExampleImage } from '../../examples/example-image.js';
import type { Sandbox, SandboxHost } from '../../src/sandbox/index.js';
import { assertReadyNodes, imageRef, runArgs } from '../helpers/cluster-e2e.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'bin', 'berth');
const arch = process.arch === 'x64' ? 'amd64' : process.arch;
const sandbox = 't-single';
const cluster = 't-single';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

test('the single file runs every command as bin/berth does, offline and alone', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'berth-single-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const made = join(work, 'made');
  mkdirSync(made);
  const pack = spawnSync(process.execPath, [join(root, 'scripts/package/make-single-file.mjs')], {
    env: { ...process.env, BERTH_PACKAGE_DIR: made },
    encoding: 'utf8',
  });
  assert.equal(pack.status, 0, pack.stderr);
  const name = `berth-linux-${arch}`;
  const digestLine = readFileSync(join(made, `${name}.sha256`), 'utf8');
  const check = spawnSync('sha256sum', ['-c', `${name}.sha256`], { cwd: made, encoding: 'utf8' });
  assert.equal(check.status, 0, `${digestLine}${check.stdout}${check.stderr}`);
  console.log(`${name}: ${(statSync(join(made, name)).size / 1024 / 1024).toFixed(1)} MiB`);

  // Alone in a directory nothing else is in, far from the checkout's node_modules.
  const alone = join(work, 'alone');
  mkdirSync(alone);
  const file = join(alone, name);
  copyFileSync(join(made, name), file);
  spawnSync('chmod', ['755', file]);
  const home = join(work, 'home');
  const env = { PATH: '/usr/bin:/bin', HOME: work, BERTH_HOME: home, CI: '1' };
  const single = (args: string[], timeout = 300_000): Result =>
    spawnSync(file, args, { cwd: alone, env, encoding: 'utf8', timeout });
  const checkout = (args: string[]): Result =>
    spawnSync(process.execPath, [bin, ...args], { cwd: alone, env, encoding: 'utf8' });
  const ok = (args: string[]): Result => {
    const r = single(args);
    assert.equal(r.status, 0, `${name} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
    return r;
  };

  await t.test('--version names the commit, as bin/berth does', () => {
    const r = ok(['--version']);
    assert.match(r.stdout, /^berth \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n$/);
    assert.equal(r.stdout, checkout(['--version']).stdout);
  });

  await t.test('--help, errors and exit codes match bin/berth', () => {
    for (const args of [['--help'], ['run', '--help'], ['no-such-command'], ['inspect', 'no/such:image']]) {
      const a = single(args);
      const b = checkout(args);
      assert.deepEqual(
        { status: a.status, stdout: a.stdout, stderr: a.stderr },
        { status: b.status, stdout: b.stdout, stderr: b.stderr },
        args.join(' '),
      );
    }
  });

  await t.test('images on an empty store', () => {
    assert.equal(ok(['images']).stdout, 'NAME  ID  SIZE  CREATED\n');
  });

  await t.test('sandbox up, run of the example k3s image onto 1+1, reset, sandbox down', async (t2) => {
    process.env.BERTH_HOME = home;
    await buildExampleImage({ tag: imageRef, workDir: join(work, 'build') });
    t2.after(() => {
      if (existsSync(join(home, cluster, 'Clusterfile'))) single(['reset', '--cluster', cluster]);
      // bin/berth as a fallback: the sandbox must go even if the file failed half-way
      checkout(['sandbox', 'down', '--name', sandbox]);
    });
    // --json prints the whole sandbox: what it says must be what works
    const up = JSON.parse(
      ok(['sandbox', 'up', '--name', sandbox, '--hosts', '2', '--json']).stdout,
    ) as Sandbox;
    assert.equal(up.name, sandbox);
    assert.equal(up.hosts.length, 2);
    assert.ok(existsSync(up.keyPath), up.keyPath);
    for (const h of up.hosts) {
      assert.match(h.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(h.port, 22);
      assert.ok(h.rootPassword.length >= 8 && h.userPassword.length >= 8, 'passwords are printed');
      assert.match(h.hostKey, /^ssh-ed25519 /);
    }
    const ls = JSON.parse(ok(['sandbox', 'ls', '--json']).stdout) as Sandbox[];
    const ips = ls.find((s) => s.name === sandbox)?.hosts.map((h) => h.ip) ?? [];
    assert.deepEqual(
      ips,
      up.hosts.map((h) => h.ip),
    );
    // exec --json: one row per host with its code and both streams; the failing host makes it exit 7
    const [first, second] = up.hosts as [SandboxHost, SandboxHost];
    const exec = single([
      'exec',
      '--hosts',
      ips.join(','),
      '-i',
      up.keyPath,
      '--json',
      '--',
      `uname -n; echo to-stderr >&2; test "$(uname -n)" = ${first.name}`,
    ]);
    assert.equal(exec.status, 7, exec.stderr);
    const rows = JSON.parse(exec.stdout) as Array<{
      host: string;
      code: number;
      stdout: string;
      stderr: string;
    }>;
    assert.deepEqual(
      rows.map((r) => [r.host, r.code, r.stdout, r.stderr]),
      [
        [first.ip, 0, `${first.name}\n`, 'to-stderr\n'],
        [second.ip, 1, `${second.name}\n`, 'to-stderr\n'],
      ],
    );
    const run = ok(runArgs(sandbox, cluster, { masters: 1, nodes: 1 }));
    assert.match(run.stderr + run.stdout, /kubeconfig/);
    assertReadyNodes(join(home, cluster, 'kubeconfig'), ips);
    assert.match(ok(['status', '--cluster', cluster]).stdout, /Ready/);
    ok(['reset', '--cluster', cluster]);
    ok(['sandbox', 'down', '--name', sandbox]);
    assert.equal(single(['sandbox', 'down', '--name', sandbox]).status, 9);
  });
});

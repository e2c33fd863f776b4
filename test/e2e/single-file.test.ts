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
import { assertReadyNodes, imageRef } from '../helpers/cluster-e2e.js';

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
    ok(['sandbox', 'up', '--name', sandbox, '--hosts', '2']);
    const ls = JSON.parse(ok(['sandbox', 'ls', '--json']).stdout) as Array<{
      name: string;
      hosts: Array<{ ip: string }>;
    }>;
    const ips = ls.find((s) => s.name === sandbox)?.hosts.map((h) => h.ip) ?? [];
    assert.equal(ips.length, 2);
    const run = ok([
      'run',
      imageRef,
      '--sandbox',
      sandbox,
      '--masters',
      '1',
      '--nodes',
      '1',
      '--cluster',
      cluster,
    ]);
    assert.match(run.stderr + run.stdout, /kubeconfig/);
    assertReadyNodes(join(home, cluster, 'kubeconfig'), ips);
    assert.match(ok(['status', '--cluster', cluster]).stdout, /Ready/);
    ok(['reset', '--cluster', cluster]);
    ok(['sandbox', 'down', '--name', sandbox]);
    assert.equal(single(['sandbox', 'down', '--name', sandbox]).status, 9);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const berth = new URL('../../../bin/berth', import.meta.url).pathname;

test('an image berth builds and saves as oci-archive unpacks with umoci to the same files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-build-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, BERTH_HOME: join(dir, 'home') };
  const run = (...args: string[]) => execFileSync(berth, args, { env, encoding: 'utf8' });
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'bin'), { recursive: true });
  await mkdir(join(ctx, 'scripts'), { recursive: true });
  await copyFile('/bin/busybox', join(ctx, 'bin', 'busybox'));
  await symlink('busybox', join(ctx, 'bin', 'sh'));
  await writeFile(join(ctx, 'scripts', 'init.sh'), '#!/bin/sh\necho init\n', { mode: 0o755 });
  await writeFile(
    join(ctx, 'Kubefile'),
    'FROM scratch\nLABEL sealos.io.type=rootfs\nCOPY bin bin\nCOPY scripts scripts\nCMD ["sh", "scripts/init.sh"]\n',
  );
  const digest = run('build', '-t', 't-build/busybox:e2e', ctx).trim();
  assert.match(digest, /^sha256:[a-f0-9]{64}$/);
  assert.equal(run('build', '-t', 't-build/busybox:e2e', ctx).trim(), digest);
  const archive = join(dir, 'img.tar');
  run('save', 't-build/busybox:e2e', '-o', archive, '--format', 'oci-archive');
  const layout = join(dir, 'layout');
  await mkdir(layout);
  execFileSync('tar', ['-xf', archive, '-C', layout]);
  const bundle = join(dir, 'bundle');
  execFileSync('umoci', [
    'unpack',
    '--rootless',
    '--image',
    `${layout}:docker.io/t-build/busybox:e2e`,
    bundle,
  ]);
  const rootfs = join(bundle, 'rootfs');
  assert.deepEqual(await readFile(join(rootfs, 'bin', 'busybox')), await readFile('/bin/busybox'));
  assert.equal(await readlink(join(rootfs, 'bin', 'sh')), 'busybox');
  assert.equal(await readFile(join(rootfs, 'scripts', 'init.sh'), 'utf8'), '#!/bin/sh\necho init\n');
  assert.equal(
    execFileSync(join(rootfs, 'bin', 'busybox'), ['echo', 'ok'], { encoding: 'utf8' }).trim(),
    'ok',
  );
  const mounted = run('mount', 't-build/busybox:e2e').trim();
  assert.deepEqual(await readFile(join(mounted, 'bin', 'busybox')), await readFile('/bin/busybox'));
  run('umount', 't-build-busybox-e2e');
  run('rmi', 't-build/busybox:e2e');
  assert.equal(run('images', '--json').trim(), '[]');
});

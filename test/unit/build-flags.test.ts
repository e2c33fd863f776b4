// The build flags that sealos/buildah build scripts pass, through the real CLI.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ImageStore } from '../../src/image/store.js';
import type { ImageIndex } from '../../src/image/types.js';
import { runBerth } from '../helpers/run-berth.js';

test('--platform list, -t twice, --label/--env, --no-cache, --pull=never, --save-image=false', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-bflags-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'images', 'shim'), { recursive: true });
  // Saving this would need a registry nobody runs: --save-image=false must not try.
  await writeFile(join(ctx, 'images', 'shim', 'list'), '127.0.0.1:9/none/such:1\n');
  await writeFile(
    join(ctx, 'Kubefile'),
    'FROM scratch\nARG TARGETARCH\nLABEL arch=$TARGETARCH\nCOPY Kubefile /\n',
  );
  const r = await runBerth(
    [
      'build',
      '-t',
      't-bf/multi:1',
      '-t',
      't-bf/multi:latest',
      '--platform',
      'linux/amd64,linux/arm64',
      '--platform',
      'linux/arm/v7',
      '--label',
      'team=infra',
      '--env',
      'MODE=offline',
      '--no-cache',
      '--pull=never',
      '--save-image=false',
      ctx,
    ],
    { BERTH_HOME: home },
  );
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(lstat(join(ctx, 'registry')));
  const store = new ImageStore(join(home, 'images'));
  const names = (await store.list()).map((e) => e.name);
  assert.deepEqual(names, ['docker.io/t-bf/multi:1', 'docker.io/t-bf/multi:latest']);
  const top = await store.resolve('t-bf/multi:1');
  assert.equal(top.mediaType, 'application/vnd.oci.image.index.v1+json');
  const index = await store.readJson<ImageIndex>(top.digest);
  assert.deepEqual(
    index.manifests.map((m) => m.platform),
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
  );
  for (const [platform, arch] of [
    [{ os: 'linux', architecture: 'arm64' }, 'arm64'],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'arm'],
  ] as const) {
    const img = await store.image('t-bf/multi:1', platform);
    assert.equal(img.config.architecture, arch);
    assert.deepEqual(img.config.config?.Labels, { arch, team: 'infra' });
    assert.deepEqual(img.config.config?.Env, ['MODE=offline']);
  }

  const unknown = await runBerth(['build', '-t', 't-bf/x:1', '--squash-all', ctx], { BERTH_HOME: home });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--squash-all'/);
  const badPull = await runBerth(['build', '-t', 't-bf/x:1', '--pull=sometimes', ctx], { BERTH_HOME: home });
  assert.equal(badPull.code, 2);
  assert.match(badPull.stderr, /--pull sometimes: want always, missing or never/);
});

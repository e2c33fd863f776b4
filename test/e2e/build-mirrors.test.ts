// registries.conf at build and pull time: images named as docker.io/... come from a mirror on a loopback
// registry with no network beyond it; a blocked registry is refused with one line; bad TOML names its line.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBerth } from '../helpers/run-berth.js';
import { startRegistry } from '../helpers/test-registry.js';

test('docker.io images through a registries.conf mirror; blocked registries refused', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 't-mirror-'));
  const mirror = await startRegistry();
  t.after(async () => {
    await mirror.stop();
    await rm(work, { recursive: true, force: true });
  });
  const home = join(work, 'home');
  const env = { BERTH_HOME: home, CONTAINERS_REGISTRIES_CONF: join(work, 'unused.conf') };

  // The mirror holds docker.io's library/busybox:1.36 (here: a small image berth builds and pushes).
  const src = join(work, 'src');
  await mkdir(src);
  await writeFile(join(src, 'Kubefile'), 'FROM scratch\nCOPY Kubefile /busybox\n');
  assert.equal((await runBerth(['build', '-t', 't-mirror/busybox:1', src], env)).code, 0);
  const pushed = await runBerth(['push', 't-mirror/busybox:1', `${mirror.host}/library/busybox:1.36`], env);
  assert.equal(pushed.code, 0, pushed.stderr);

  const conf = join(work, 'registries.conf');
  await writeFile(
    conf,
    [
      'unqualified-search-registries = ["docker.io"]',
      '',
      '[[registry]]',
      'prefix = "docker.io"',
      'location = "docker.io"',
      '[[registry.mirror]]',
      `location = "${mirror.host}"`,
      'insecure = true',
      '',
      '[[registry]]',
      'prefix = "quay.io"',
      'blocked = true',
      '',
    ].join('\n'),
  );

  const ctx = join(work, 'ctx');
  await mkdir(join(ctx, 'images', 'shim'), { recursive: true });
  await writeFile(join(ctx, 'images', 'shim', 'list'), 'docker.io/library/busybox:1.36\n');
  await writeFile(join(ctx, 'Kubefile'), 'FROM scratch\nCOPY registry /registry\n');
  const built = await runBerth(['build', '--registries-conf', conf, '-t', 't-mirror/app:1', ctx], {
    ...env,
    BERTH_HOME: join(work, 'home2'),
  });
  assert.equal(built.code, 0, built.stderr);
  await lstat(
    join(
      ctx,
      'registry',
      'docker',
      'registry',
      'v2',
      'repositories',
      'library',
      'busybox',
      '_manifests',
      'tags',
      '1.36',
      'current',
      'link',
    ),
  );

  // An unqualified name goes through unqualified-search-registries, then the mirror.
  const pulled = await runBerth(['pull', '--registries-conf', conf, 'busybox:1.36'], {
    ...env,
    BERTH_HOME: join(work, 'home3'),
  });
  assert.equal(pulled.code, 0, pulled.stderr);

  const blockedCtx = join(work, 'blocked');
  await mkdir(join(blockedCtx, 'images', 'shim'), { recursive: true });
  await writeFile(join(blockedCtx, 'images', 'shim', 'list'), 'quay.io/team/tool:1\n');
  await writeFile(join(blockedCtx, 'Kubefile'), 'FROM scratch\nCOPY registry /registry\n');
  const blocked = await runBerth(['build', '--registries-conf', conf, '-t', 't-mirror/b:1', blockedCtx], env);
  assert.equal(blocked.code, 8, blocked.stderr);
  assert.equal(blocked.stderr.trim().split('\n').length, 1, blocked.stderr);
  assert.match(blocked.stderr, /quay\.io\/team\/tool:1: registry quay\.io is blocked in .*registries\.conf/);
  await assert.rejects(lstat(join(blockedCtx, 'registry')));
  const blockedPull = await runBerth(['pull', '--registries-conf', conf, 'quay.io/team/tool:1'], env);
  assert.equal(blockedPull.code, 8);
  assert.match(blockedPull.stderr, /is blocked in/);

  await writeFile(join(work, 'bad.conf'), '[[registry]]\nprefix = "docker.io\n');
  const bad = await runBerth(['pull', '--registries-conf', join(work, 'bad.conf'), 'busybox:1.36'], env);
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /bad\.conf:2: not valid TOML/);
});

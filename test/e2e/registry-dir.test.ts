// Images saved by saveImagesToRegistryDir are served by a stock docker-registry pointed at the directory
// and pulled back by skopeo and by berth with the digests they had at the source.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectImageList } from '../../src/image/image-list.js';
import { closeDispatchers } from '../../src/image/registry/transport.js';
import { saveImagesToRegistryDir } from '../../src/image/registry-dir.js';
import { noise, writeOciImage } from '../helpers/oci-fixture.js';
import { runBerth } from '../helpers/run-berth.js';
import { startRegistry } from '../helpers/test-registry.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const amd64 = { os: 'linux', architecture: 'amd64' };

function rawDigest(ref: string): string {
  return sha(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
}

test('a saved registry dir is served by docker-registry with the source digests', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-rdir-'));
  process.env.BERTH_HOME = join(work, 'home');
  const src = await startRegistry();
  let served: Awaited<ReturnType<typeof startRegistry>> | undefined;
  t.after(async () => {
    await closeDispatchers();
    await served?.stop();
    await src.stop();
    rmSync(work, { recursive: true, force: true });
  });
  const layout = join(work, 'layout');
  const shared = noise(500_000);
  const app = await writeOciImage(layout, 'app', [
    { platform: amd64, files: { 'bin/busybox': readFileSync('/bin/busybox'), 'data/shared': shared } },
  ]);
  const tool = await writeOciImage(layout, 'tool', [{ platform: amd64, files: { 'data/shared': shared } }]);
  const multi = await writeOciImage(layout, 'multi', [
    { platform: amd64, files: { 'etc/arch': Buffer.from('amd64') } },
    { platform: { os: 'linux', architecture: 'arm64' }, files: { 'etc/arch': Buffer.from('arm64') } },
  ]);
  const copy = (tag: string, dest: string, all = false) =>
    execFileSync('skopeo', [
      '--insecure-policy',
      'copy',
      ...(all ? ['--all'] : []),
      '--dest-tls-verify=false',
      `oci:${layout}:${tag}`,
      `docker://${src.host}/${dest}`,
    ]);
  copy('app', 't-rdir/app:1');
  copy('tool', 'library/tool:2');
  copy('multi', 't-rdir/multi:1', true);

  const dir = join(work, 'context', 'registry');
  const refs = [`${src.host}/t-rdir/app:1`, `${src.host}/library/tool:2`, `${src.host}/t-rdir/multi:1`];
  const first = await saveImagesToRegistryDir([...refs, refs[0]!], dir, {
    platforms: [amd64],
    maxParallel: 3,
  });
  assert.deepEqual([...first.saved].sort(), [...refs].sort());
  assert.deepEqual(first.skipped, []);

  const v2 = join(dir, 'docker', 'registry', 'v2');
  const link = (p: string) => readFileSync(join(v2, 'repositories', p), 'utf8');
  assert.equal(link('t-rdir/app/_manifests/tags/1/current/link'), app.digest, 'link files have no newline');
  assert.equal(
    link(`t-rdir/multi/_manifests/tags/1/index/sha256/${multi.digest.slice(7)}/link`),
    multi.digest,
  );
  assert.ok(
    !existsSync(join(v2, 'blobs', 'sha256', multi.children[1]!.slice(7, 9), multi.children[1]!.slice(7))),
  );
  assert.ok(!existsSync(join(dir, '.partial')));

  const again = await saveImagesToRegistryDir(refs, dir, { platforms: [amd64] });
  assert.deepEqual(again, { saved: [], skipped: refs, downloaded: 0 });

  await assert.rejects(
    saveImagesToRegistryDir([`${src.host}/t-rdir/absent:9`], dir, { platforms: [amd64] }),
    /t-rdir\/absent:9: manifest not found/,
  );

  served = await startRegistry({ root: dir });
  assert.equal(rawDigest(`${served.host}/t-rdir/app:1`), app.digest);
  assert.equal(rawDigest(`${served.host}/library/tool:2`), tool.digest);
  assert.equal(rawDigest(`${served.host}/t-rdir/multi:1`), multi.digest);
  const out = join(work, 'out');
  execFileSync('skopeo', [
    '--insecure-policy',
    'copy',
    '--src-tls-verify=false',
    `docker://${served.host}/t-rdir/multi:1`,
    `oci:${out}:multi`,
  ]);
  const pulled = await runBerth(['pull', `${served.host}/library/tool:2`], {
    BERTH_HOME: join(work, 'home2'),
  });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout.trim(), tool.digest);
});

test('collectImageList reads images/shim, manifests YAML and charts (helm, or berth without it)', async (t) => {
  const ctx = mkdtempSync(join(tmpdir(), 't-rdir-ctx-'));
  t.after(() => rmSync(ctx, { recursive: true, force: true }));
  mkdirSync(join(ctx, 'images', 'shim'), { recursive: true });
  writeFileSync(join(ctx, 'images', 'shim', 'list'), '# base\nregistry.k8s.io/pause:3.9\n\n  nginx:1.25  \n');
  mkdirSync(join(ctx, 'manifests', 'sub'), { recursive: true });
  writeFileSync(
    join(ctx, 'manifests', 'sub', 'app.yaml'),
    'kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: nginx:1.25\n---\nkind: Pod\nspec:\n  initContainers: [{ image: "quay.io/x/y:2" }]\n',
  );
  assert.deepEqual(await collectImageList(ctx), ['registry.k8s.io/pause:3.9', 'nginx:1.25', 'quay.io/x/y:2']);
  mkdirSync(join(ctx, 'charts', 'web'), { recursive: true });
  writeFileSync(join(ctx, 'charts', 'web', 'Chart.yaml'), 'name: web\nversion: 0.1.0\n');
  const hasHelm = (() => {
    try {
      execFileSync('helm', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // Without helm berth renders the chart itself: one with no templates names no images.
  if (!hasHelm)
    assert.deepEqual(await collectImageList(ctx), [
      'registry.k8s.io/pause:3.9',
      'nginx:1.25',
      'quay.io/x/y:2',
    ]);
});

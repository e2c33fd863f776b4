import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import tarStream from 'tar-stream';
import { loadImages, saveImages } from '../../src/image/archive.js';
import { buildImage } from '../../src/image/build.js';
import { mergeImages } from '../../src/image/merge.js';
import { createMount, removeMount, unpackImage } from '../../src/image/mount.js';
import { ImageStore } from '../../src/image/store.js';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 't-build-'));
  const saved = process.env.BERTH_HOME;
  process.env.BERTH_HOME = join(dir, 'home');
  t.after(async () => {
    if (saved === undefined) delete process.env.BERTH_HOME;
    else process.env.BERTH_HOME = saved;
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, store: new ImageStore(join(dir, 'store')) };
}

async function context(dir: string, kubefile: string, files: Record<string, string> = {}): Promise<string> {
  const ctx = join(dir, `ctx-${Math.random().toString(36).slice(2)}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Kubefile'), kubefile);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(ctx, path, '..'), { recursive: true });
    await writeFile(join(ctx, path), body);
  }
  return ctx;
}

const sample = `# a cluster image
FROM scratch
ARG VERSION=v1.0
LABEL sealos.io.type=rootfs \\
      version=\${VERSION}
ENV registryDomain=sealos.hub
COPY bin/* bin/
COPY scripts /scripts
CMD kubeadm init --v=\${VERSION}
`;

test('the same context built twice gives the same digest; config follows the Kubefile', async (t) => {
  const { dir, store } = await setup(t);
  const files = { 'bin/kubeadm': 'K', 'bin/kubelet': 'L', 'scripts/init.sh': 'echo', 'notes.md': 'n' };
  const a = await buildImage({
    contextDir: await context(dir, sample, files),
    tags: ['t-build/one:1'],
    store,
    buildArgs: { VERSION: 'v2' },
  });
  const b = await buildImage({
    contextDir: await context(dir, sample, files),
    tags: ['t-build/one:2'],
    store,
    buildArgs: { VERSION: 'v2' },
  });
  assert.equal(a.manifestDescriptor.digest, b.manifestDescriptor.digest);
  const img = await store.image('t-build/one:1');
  assert.deepEqual(img.config.config?.Labels, { 'sealos.io.type': 'rootfs', version: 'v2' });
  assert.deepEqual(img.config.config?.Cmd, ['kubeadm init --v=${VERSION}']);
  assert.deepEqual(img.config.config?.Env, ['registryDomain=sealos.hub']);
  assert.equal(img.config.created, '1970-01-01T00:00:00Z');
  assert.equal(img.manifest.layers.length, 2);
  assert.equal(img.config.history?.filter((h) => h.empty_layer).length, 3);
  const out = join(dir, 'out');
  await unpackImage(store, 't-build/one:1', out);
  assert.equal(await readFile(join(out, 'bin', 'kubeadm'), 'utf8'), 'K');
  assert.equal(await readFile(join(out, 'scripts', 'init.sh'), 'utf8'), 'echo');
  await assert.rejects(lstat(join(out, 'notes.md')));
});

test('Kubefile errors name file and line; RUN is refused; missing base says to pull', async (t) => {
  const { dir, store } = await setup(t);
  const cases: Array<[string, RegExp]> = [
    ['FROM scratch\n\nFOO 80\n', /Kubefile:3: unknown instruction "FOO"/],
    [
      'FROM scratch\nRUN apt-get install x\n',
      /Kubefile:2: RUN is not supported: berth runs no containers at build time/,
    ],
    ['FROM scratch\nCOPY missing.txt /\n', /Kubefile:2: COPY source missing.txt matches no file/],
    ['FROM scratch\nADD https://example.com/x.tgz /\n', /Kubefile:2: ADD .*offline/],
    ['FROM scratch\nCOPY ../x /\n', /Kubefile:2: COPY source \.\.\/x is outside the build context/],
    [
      'FROM t-build/absent:1\n',
      /Kubefile:1: image t-build\/absent:1 is not in the local store; run berth pull t-build\/absent:1 first/,
    ],
  ];
  for (const [kubefile, pattern] of cases) {
    await assert.rejects(
      buildImage({ contextDir: await context(dir, kubefile), tags: ['t-build/err:1'], store }),
      pattern,
    );
  }
});

test('.dockerignore keeps files out; ADD unpacks archives; COPY --from and --chmod', async (t) => {
  const { dir, store } = await setup(t);
  const base = await context(dir, 'FROM scratch\nCOPY . /\n', {
    'keep.txt': 'k',
    'secret.key': 's',
    'logs/a.log': 'l',
    '.dockerignore': '*.key\nlogs\n',
  });
  await buildImage({ contextDir: base, tags: ['t-build/base:1'], store });
  const out = join(dir, 'base-out');
  await unpackImage(store, 't-build/base:1', out);
  assert.equal(await readFile(join(out, 'keep.txt'), 'utf8'), 'k');
  await assert.rejects(lstat(join(out, 'secret.key')));
  await assert.rejects(lstat(join(out, 'logs')));

  const pack = tarStream.pack();
  pack.entry({ name: 'inner/file.txt' }, 'from tar');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  const ctx = await context(
    dir,
    'FROM t-build/base:1\nADD bundle.tar /opt/\nCOPY --from=t-build/base:1 --chmod=700 keep.txt /copied/keep\n',
  );
  await writeFile(join(ctx, 'bundle.tar'), Buffer.concat(chunks));
  await buildImage({ contextDir: ctx, tags: ['t-build/child:1'], store });
  const out2 = join(dir, 'child-out');
  await unpackImage(store, 't-build/child:1', out2);
  assert.equal(await readFile(join(out2, 'opt', 'inner', 'file.txt'), 'utf8'), 'from tar');
  assert.equal((await lstat(join(out2, 'copied', 'keep'))).mode & 0o777, 0o700);
  assert.equal(await readFile(join(out2, 'keep.txt'), 'utf8'), 'k');
});

test('save/load round trip in both formats; merge; mounts honour whiteouts', async (t) => {
  const { dir, store } = await setup(t);
  const ctxA = await context(dir, 'FROM scratch\nLABEL a=1 shared=a\nENV X=1 Y=a\nCOPY . /\n', {
    'a.txt': 'A',
    'old/x.txt': 'x',
    'both.txt': 'from a',
  });
  await buildImage({ contextDir: ctxA, tags: ['t-build/a:1'], store });
  for (const format of ['oci-archive', 'docker-archive'] as const) {
    const file = join(dir, `a.${format}.tar`);
    await saveImages(store, ['t-build/a:1'], file, format);
    const other = new ImageStore(join(dir, `store-${format}`));
    assert.deepEqual(await loadImages(other, file), ['docker.io/t-build/a:1']);
    const loaded = await other.image('t-build/a:1');
    const original = await store.image('t-build/a:1');
    assert.equal(loaded.configDescriptor.digest, original.configDescriptor.digest);
    assert.deepEqual(
      loaded.manifest.layers.map((l) => l.digest),
      original.manifest.layers.map((l) => l.digest),
    );
  }
  // A later image that deletes a file of the first one through a whiteout layer.
  const ctxB = await context(dir, 'FROM scratch\nLABEL shared=b\nENV Y=b\nCOPY . /\n', {
    'b.txt': 'B',
    'both.txt': 'from b',
    '.wh.old': '',
  });
  await buildImage({ contextDir: ctxB, tags: ['t-build/b:1'], store });
  await mergeImages(store, ['t-build/a:1', 't-build/b:1'], 't-build/ab:1');
  const merged = await store.image('t-build/ab:1');
  assert.deepEqual(merged.config.config?.Labels, { a: '1', shared: 'b' });
  assert.deepEqual(merged.config.config?.Env, ['X=1', 'Y=b']);
  const path = await createMount(store, 't-build/ab:1');
  t.after(() => removeMount('t-build-ab-1').catch(() => undefined));
  assert.equal(await readFile(join(path, 'a.txt'), 'utf8'), 'A');
  assert.equal(await readFile(join(path, 'both.txt'), 'utf8'), 'from b');
  await assert.rejects(lstat(join(path, 'old')));
  await assert.rejects(lstat(join(path, '.wh.old')));
  assert.equal(await createMount(store, 't-build/ab:1', undefined, { reuse: true }), path);
  await removeMount('t-build-ab-1');
  await assert.rejects(lstat(path));
  await assert.rejects(removeMount('t-build-ab-1'), /does not exist/);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeImages } from '../../src/image/local-images.js';
import { ImageStore, sha256Digest } from '../../src/image/store.js';
import { MediaType } from '../../src/image/types.js';
import { NotFoundError } from '../../src/util/errors.js';

/** A clock past gc's grace period for the blobs this test has just written (no need to wait for it). */
const pastGrace = () => Date.now() + 5_000;

async function tempStore(t: { after: (fn: () => Promise<void>) => void }): Promise<ImageStore> {
  const dir = await mkdtemp(join(tmpdir(), 't-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return new ImageStore(join(dir, 'images'));
}

/** Stores a one-layer image and returns its manifest descriptor. */
async function putImage(store: ImageStore, content: string) {
  const layer = await store.putBlob(Buffer.from(content));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const cfg = await store.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...cfg },
      layers: [{ mediaType: MediaType.ociLayer, ...layer }],
    }),
  );
  const m = await store.putBlob(manifest);
  return { mediaType: MediaType.ociManifest, ...m, config: cfg, layer };
}

test('blobs are content-addressed, verified and stored once', async (t) => {
  const store = await tempStore(t);
  const data = Buffer.from('hello');
  const a = await store.putBlob(data, { digest: sha256Digest(data), size: 5 });
  const b = await store.putBlob(
    (async function* () {
      yield Buffer.from('hel');
      yield Buffer.from('lo');
    })(),
  );
  assert.deepEqual(a, b);
  assert.equal((await store.readBlob(a.digest)).toString(), 'hello');
  await assert.rejects(store.putBlob(Buffer.from('x'), { digest: a.digest }), /corrupt/);
  await assert.rejects(store.putBlob(data, { digest: a.digest, size: 9 }), /expected 9 bytes/);
  assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
  assert.equal((await readdir(join(store.root, 'blobs', 'sha256'))).length, 1);
});

test('tag, resolve by name and id, untag, gc', async (t) => {
  const store = await tempStore(t);
  const img = await putImage(store, 'layer-one');
  const desc = { mediaType: img.mediaType, digest: img.digest, size: img.size };
  await store.tag('example/app:v1', desc);
  await store.tag('docker.io/example/app:v2', desc);
  assert.equal((await store.resolve('docker.io/example/app:v1')).digest, img.digest);
  assert.equal((await store.resolve(img.config.digest.slice(7, 19))).digest, img.digest);
  assert.equal((await store.resolve(img.digest)).digest, img.digest);
  await assert.rejects(store.resolve('example/app:nope'), /not in the local store/);
  const listed = await store.list();
  assert.deepEqual(
    listed.map((e) => e.name),
    ['docker.io/example/app:v1', 'docker.io/example/app:v2'],
  );
  const image = await store.image('example/app:v1', { os: 'linux', architecture: 'amd64' });
  assert.equal(image.config.rootfs.diff_ids[0], img.layer.digest);
  await store.putBlob(Buffer.from('orphan'));
  // gc spares blobs written moments ago; pretend this process is done by using a fresh store object
  // whose clock is past the grace period.
  await rm(join(store.root, 'leases'), { recursive: true, force: true });
  const other = new ImageStore(store.root, undefined, pastGrace);
  assert.deepEqual(await other.gc(), { blobs: 1, bytes: 6 });
  await other.untag('example/app:v1');
  assert.deepEqual(await other.gc(), { blobs: 0, bytes: 0 });
  await other.untag('example/app:v2');
  const freed = await other.gc();
  assert.equal(freed.blobs, 3);
  await assert.rejects(other.untag('example/app:v2'), /not in the local store/);
});

test('gc removes the ingest files of dead processes and counts their bytes as freed', async (t) => {
  const store = await tempStore(t);
  await store.putBlob(Buffer.from('x'));
  // pid 0x3fffffff is above the kernel's pid limit, so never a live process
  await writeFile(join(store.root, 'ingest', `${0x3fffffff}-0123456789abcdef`), Buffer.alloc(5000));
  assert.deepEqual(await store.gc(), { blobs: 0, bytes: 5000 });
  assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
});

test('gc spares blobs a live process has leased', async (t) => {
  const store = await tempStore(t);
  const b = await store.putBlob(Buffer.from('in flight'));
  assert.deepEqual(await new ImageStore(store.root, undefined, pastGrace).gc(), { blobs: 0, bytes: 0 });
  assert.equal(await store.hasBlob(b.digest), true);
});

test('two processes tagging at once leave a valid index.json', async (t) => {
  const store = await tempStore(t);
  const img = await putImage(store, 'shared');
  const storeModule = new URL('../../src/image/store.js', import.meta.url).href;
  const worker = (prefix: string) => `
    const { ImageStore } = await import(${JSON.stringify(storeModule)});
    const s = new ImageStore(${JSON.stringify(store.root)});
    for (let i = 0; i < 40; i++) {
      await s.tag('t-store/${prefix}:' + i, ${JSON.stringify({ mediaType: img.mediaType, digest: img.digest, size: img.size })});
    }`;
  const run = (code: string) =>
    new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' });
      p.on('exit', resolve);
    });
  const codes = await Promise.all([run(worker('a')), run(worker('b'))]);
  assert.deepEqual(codes, [0, 0]);
  const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 80);
});

test('rmi looks up every name before removing any: one unknown name removes nothing', async (t) => {
  const store = await tempStore(t);
  const img = await putImage(store, 'rmi');
  const desc = { mediaType: img.mediaType, digest: img.digest, size: img.size };
  await store.tag('t-store/x:r1', desc);
  await store.tag('t-store/x:r2', desc);
  await assert.rejects(
    removeImages(store, ['t-store/x:r1', 't-store/nonexist:1']),
    (err: unknown) =>
      err instanceof NotFoundError &&
      /image t-store\/nonexist:1 is not in the local store .*nothing was removed/.test(err.message),
  );
  assert.deepEqual(
    (await store.list()).map((e) => e.name),
    ['docker.io/t-store/x:r1', 'docker.io/t-store/x:r2'],
  );
  assert.deepEqual(await removeImages(store, ['t-store/x:r1', img.config.digest.slice(7, 19)]), [
    'docker.io/t-store/x:r1',
    'docker.io/t-store/x:r2',
  ]);
  assert.deepEqual(await store.list(), []);
});

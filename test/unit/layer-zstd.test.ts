// zstd layers: OCI's tar+zstd media type, the same uncompressed tar (diff id) as gzip, reproducible,
// readable by berth itself and by the reference zstd tool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildImage } from '../../src/image/build.js';
import { unpackImage } from '../../src/image/mount.js';
import { ImageStore } from '../../src/image/store.js';

function hasZstdTool(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('--compression zstd writes tar+zstd layers (raw blocks where nothing shrinks) with the same diff ids, the same digest twice, readable back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-zstd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new ImageStore(join(dir, 'store'));
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'data'), { recursive: true });
  // More than one 4 MiB piece, so that the layer is several frames.
  const big = Buffer.alloc(9 << 20);
  for (let i = 0; i < big.length; i += 32)
    createHash('sha256')
      .update(String(i % 5000))
      .digest()
      .copy(big, i);
  await writeFile(join(ctx, 'data', 'big.bin'), big);
  await writeFile(join(ctx, 'data', 'small.txt'), 'small\n');
  // Data that does not shrink (like the compressed blobs under registry/) goes in as raw zstd blocks.
  const noise = randomBytes(9 << 20);
  await writeFile(join(ctx, 'data', 'noise.bin'), noise);
  await writeFile(join(ctx, 'Kubefile'), 'FROM scratch\nCOPY data /data\n');

  const z1 = await buildImage({ contextDir: ctx, tags: ['t-zstd/z:1'], store, compression: 'zstd' });
  const z2 = await buildImage({ contextDir: ctx, tags: ['t-zstd/z:2'], store, compression: 'zstd' });
  await buildImage({ contextDir: ctx, tags: ['t-zstd/g:1'], store });
  assert.equal(z1.manifestDescriptor.digest, z2.manifestDescriptor.digest);
  const zimg = await store.image('t-zstd/z:1');
  const gimg = await store.image('t-zstd/g:1');
  assert.equal(zimg.manifest.layers[0]?.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  assert.equal(gimg.manifest.layers[0]?.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.deepEqual(zimg.config.rootfs.diff_ids, gimg.config.rootfs.diff_ids);

  const out = join(dir, 'out');
  await unpackImage(store, 't-zstd/z:1', out);
  assert.ok((await readFile(join(out, 'data', 'big.bin'))).equals(big));
  assert.equal(await readFile(join(out, 'data', 'small.txt'), 'utf8'), 'small\n');
  assert.ok((await readFile(join(out, 'data', 'noise.bin'))).equals(noise));
  const layerSize = zimg.manifest.layers[0]?.size ?? 0;
  assert.ok(layerSize < noise.length * 1.01 + big.length, `zstd layer of ${layerSize} bytes`);

  if (hasZstdTool()) {
    const blob = store.blobPath(zimg.manifest.layers[0]?.digest as string);
    const tar = execFileSync('zstd', ['-dc', blob], { maxBuffer: 64 << 20 });
    assert.equal(`sha256:${createHash('sha256').update(tar).digest('hex')}`, zimg.config.rootfs.diff_ids[0]);
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImages, saveImages } from '../../src/image/archive.js';
import { writeImage } from '../../src/image/image-write.js';
import { ImageStore } from '../../src/image/store.js';
import { MediaType } from '../../src/image/types.js';
import { InputError } from '../../src/util/errors.js';
import { noise } from '../helpers/oci-fixture.js';

async function workDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 't-archive-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a truncated archive loads nothing: no name, no orphan manifest or config blob', async (t) => {
  const dir = await workDir(t);
  const source = new ImageStore(join(dir, 'source'));
  const layer = await source.putBlob(noise(256 * 1024));
  await writeImage(
    source,
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } },
    [{ mediaType: MediaType.ociLayer, ...layer }],
    't-archive/a:1',
  );
  const file = join(dir, 'a.tar');
  await saveImages(source, ['t-archive/a:1'], file);
  // The manifest and config come first in the archive; the cut falls inside the layer after them.
  await truncate(file, (await stat(file)).size - 128 * 1024);
  const target = new ImageStore(join(dir, 'target'));
  await assert.rejects(loadImages(target, file), InputError);
  assert.deepEqual(await readdir(join(target.root, 'blobs', 'sha256')), []);
  assert.deepEqual(await readdir(join(target.root, 'ingest')), []);
  assert.deepEqual(await target.list(), []);
});

test('a blob the store had before a failed load stays', async (t) => {
  const dir = await workDir(t);
  const store = new ImageStore(join(dir, 'store'));
  const kept = await store.putBlob(Buffer.from('already here'));
  const file = join(dir, 'kept.tar');
  const other = new ImageStore(join(dir, 'other'));
  const again = await other.putBlob(Buffer.from('already here'));
  await writeImage(
    other,
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [again.digest] } },
    [{ mediaType: MediaType.ociLayer, ...again }],
    't-archive/kept:1',
  );
  await saveImages(other, ['t-archive/kept:1'], file);
  // Cut inside index.json, the last entry: every blob was stored, then the load fails.
  await truncate(file, (await stat(file)).size - 1100);
  await assert.rejects(loadImages(store, file), InputError);
  assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), [kept.digest.slice(7)]);
});

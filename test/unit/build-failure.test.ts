// A failed build changes nothing: neither files under CONTEXT/registry/ nor blobs or names in the store.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { buildImage } from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      out.push(`${relative(dir, p)}${e.isDirectory() ? '/' : ''}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

test('a build failing after images were saved and layers written leaves context and store as they were', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-bfail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new ImageStore(join(dir, 'store'));
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'big'), { recursive: true });
  await writeFile(join(ctx, 'big', 'data'), 'layer that gets written before the failure');
  await writeFile(join(ctx, 'Kubefile'), 'FROM scratch\nCOPY big /big\nCOPY missing /m\n');
  await writeFile(join(dir, 'Good'), 'FROM scratch\nCOPY Kubefile /k\n');
  await buildImage({ contextDir: ctx, file: join(dir, 'Good'), tags: ['t-bfail/ok:1'], store });

  // What a save of the context's images writes: new blobs, links, and a rewritten tag link.
  const saveLike = async (contextDir: string) => {
    const reg = join(contextDir, 'registry', 'docker', 'registry', 'v2');
    await mkdir(join(reg, 'blobs', 'sha256', 'ab'), { recursive: true });
    await writeFile(join(reg, 'blobs', 'sha256', 'ab', 'data'), 'blob');
    await mkdir(join(reg, 'repositories', 'pause', '_manifests', 'tags', '3.9', 'current'), {
      recursive: true,
    });
    await writeFile(
      join(reg, 'repositories', 'pause', '_manifests', 'tags', '3.9', 'current', 'link'),
      'sha256:new',
    );
  };
  const storeBefore = await listFiles(join(dir, 'store'));

  // No registry/ before: none after.
  await assert.rejects(
    buildImage({ contextDir: ctx, tags: ['t-bfail/bad:1'], store, beforeLayers: saveLike }),
    /Kubefile:3: COPY source missing matches no file/,
  );
  assert.deepEqual(await listFiles(join(ctx, 'registry')), []);
  assert.deepEqual(await listFiles(join(dir, 'store')), storeBefore);
  assert.deepEqual(
    (await store.list()).map((e) => e.name),
    ['docker.io/t-bfail/ok:1'],
  );

  // A registry/ from an earlier build: kept as it was, the tag link's old content back.
  const link = join(
    ctx,
    'registry',
    'docker',
    'registry',
    'v2',
    'repositories',
    'pause',
    '_manifests',
    'tags',
    '3.9',
    'current',
    'link',
  );
  await mkdir(join(link, '..'), { recursive: true });
  await writeFile(link, 'sha256:old');
  const registryBefore = await listFiles(join(ctx, 'registry'));
  await assert.rejects(
    buildImage({ contextDir: ctx, tags: ['t-bfail/bad:1'], store, beforeLayers: saveLike }),
  );
  assert.deepEqual(await listFiles(join(ctx, 'registry')), registryBefore);
  assert.equal(await readFile(link, 'utf8'), 'sha256:old');
  assert.deepEqual(await listFiles(join(dir, 'store')), storeBefore);
});

// The cluster registry never runs with the password an image ships: berth's generated one goes over the
// images' env, and only the Clusterfile's own env may set another.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareImages } from '../../src/apply/cluster-images.js';
import { clusterFromRunArgs } from '../../src/clusterfile/index.js';
import { buildImage } from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import { hostPlatform } from '../../src/image/types.js';

test("the generated registry password goes over an image's, under the Clusterfile's", async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'berth-regpass-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const store = new ImageStore(join(work, 'store'));
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Kubefile'),
    'FROM scratch\nLABEL sealos.io.type=rootfs\nENV registryUsername=admin registryPassword=passw0rd\n',
  );
  await buildImage({ contextDir: ctx, tags: ['t/rootfs:1'], store });
  const prepare = async (env: string[], dir: string) =>
    prepareImages(
      {
        cluster: clusterFromRunArgs({ images: ['t/rootfs:1'], masters: '127.0.0.1', env, cluster: 'c' }),
        configs: [],
        store,
        registryPassword: 'generated-Xy7',
        dir: join(work, dir),
      },
      hostPlatform(),
    );
  assert.equal((await prepare([], 'a')).env.registryPassword, 'generated-Xy7');
  assert.equal((await prepare(['registryPassword=mine'], 'b')).env.registryPassword, 'mine');
});

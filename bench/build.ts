// Compares `berth build` of a generated 1 GiB context (large compressible files plus many small ones)
// with `tar c | gzip -1` of the same directory, the floor for "pack and compress these files".
// Target: berth at least 80% as fast (ratio tar/berth >= 0.8). BENCH_SIZE_MB scales the context.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../src/image/build.js';
import { ImageStore } from '../src/image/store.js';

const totalMb = Number(process.env.BENCH_SIZE_MB ?? 1024);
const smallFiles = Math.round((totalMb * 20000) / 1024);
const smallSize = 5000;
const largeFiles = 6;
const largeMb = Math.max(1, Math.floor((totalMb - (smallFiles * smallSize) / 2 ** 20) / largeFiles));

/** Base64 of random bytes: compresses to about 75%, like binaries and text mixed. */
function compressibleBlock(): Buffer {
  return Buffer.from(randomBytes(768 << 10).toString('base64'));
}

async function makeContext(dir: string): Promise<void> {
  await mkdir(join(dir, 'large'), { recursive: true });
  for (let f = 0; f < largeFiles; f++) {
    const fh = await open(join(dir, 'large', `blob-${f}.bin`), 'w');
    for (let mb = 0; mb < largeMb; mb++) await fh.write(compressibleBlock().subarray(0, 1 << 20));
    await fh.close();
  }
  const seed = compressibleBlock();
  for (let i = 0; i < smallFiles; i++) {
    const sub = join(dir, 'small', String(i % 100));
    if (i < 100) await mkdir(sub, { recursive: true });
    const off = (i * 997) % (seed.length - smallSize);
    await writeFile(join(sub, `f${i}.txt`), seed.subarray(off, off + smallSize));
  }
  await writeFile(join(dir, 'Kubefile'), 'FROM scratch\nCOPY large large\nCOPY small small\n');
}

const work = await mkdtemp(join(tmpdir(), 'bench-build-'));
try {
  const ctx = join(work, 'ctx');
  await makeContext(ctx);
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', `tar -cf - -C '${ctx}' . | gzip -1 > '${join(work, 'ref.tar.gz')}'`], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('tar | gzip failed');
  const tarSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const store = new ImageStore(join(work, 'store'));
  const t1 = process.hrtime.bigint();
  await buildImage({ contextDir: ctx, tags: ['bench/build:1'], store });
  const berthSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  const rss = process.memoryUsage().rss;
  console.log(`context: ${totalMb} MiB (${largeFiles} x ${largeMb} MiB + ${smallFiles} x ${smallSize} B)`);
  console.log(`tar c | gzip -1: ${tarSeconds.toFixed(2)} s`);
  console.log(`berth build:     ${berthSeconds.toFixed(2)} s (rss ${(rss / 2 ** 20).toFixed(0)} MiB)`);
  console.log(`ratio tar/berth: ${(tarSeconds / berthSeconds).toFixed(2)} (target >= 0.80)`);
} finally {
  await rm(work, { recursive: true, force: true });
}

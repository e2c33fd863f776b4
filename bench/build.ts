// Compares `berth build` + `berth save` of a generated 1 GiB context (large compressible files plus many
// small ones) with `buildah bud` + `buildah push oci-archive:` of the same context, buildah on vfs
// storage with chroot isolation in a storage root of its own. Target: berth/buildah <= 0.60 with gzip
// layers (the default); the zstd ratio is printed too. BENCH_SIZE_MB scales the context. Run it under
// the shared lock on a quiet machine; it prints the load average it started with.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const totalMb = Number(process.env.BENCH_SIZE_MB ?? 1024);
const smallFiles = Math.round((totalMb * 20000) / 1024);
const smallSize = 5000;
const largeFiles = 6;
const largeMb = Math.max(1, Math.floor((totalMb - (smallFiles * smallSize) / 2 ** 20) / largeFiles));
const berthMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

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

function timed(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env, maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr.toString().slice(-2000)}`);
  return seconds;
}

try {
  execFileSync('buildah', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('buildah is not installed: nothing to compare with');
  process.exit(0);
}

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const work = await mkdtemp(join(tmpdir(), 'bench-build-'));
try {
  const ctx = join(work, 'ctx');
  await makeContext(ctx);
  // Both tools then read the context from the page cache.
  spawnSync('sh', ['-c', `tar -cf - -C '${ctx}' . > /dev/null`]);
  const storage = [
    '--root',
    join(work, 'buildah-root'),
    '--runroot',
    join(work, 'buildah-run'),
    '--storage-driver',
    'vfs',
  ];
  const bud = timed('buildah bud', 'buildah', [
    ...storage,
    'bud',
    '--isolation',
    'chroot',
    '-f',
    join(ctx, 'Kubefile'),
    '-t',
    'localhost/bench:1',
    ctx,
  ]);
  const push = timed('buildah push', 'buildah', [
    ...storage,
    'push',
    'localhost/bench:1',
    `oci-archive:${join(work, 'buildah.tar')}:localhost/bench:1`,
  ]);
  await rm(join(work, 'buildah-root'), { recursive: true, force: true });
  await rm(join(work, 'buildah.tar'), { force: true });

  const berth = (compression: string) => {
    const env = { ...process.env, BERTH_HOME: join(work, `home-${compression}`) };
    const build = timed(
      `berth build (${compression})`,
      process.execPath,
      [berthMain, 'build', '--compression', compression, '-t', 'bench/build:1', ctx],
      env,
    );
    const save = timed(
      `berth save (${compression})`,
      process.execPath,
      [berthMain, 'save', 'bench/build:1', '-o', join(work, `berth-${compression}.tar`)],
      env,
    );
    return { build, save };
  };
  const gz = berth('gzip');
  const zs = berth('zstd');
  const buildahTotal = bud + push;
  console.log(`load average at start: ${load} (${process.env.BENCH_NOTE ?? 'see uptime'})`);
  console.log(`context: ${totalMb} MiB (${largeFiles} x ${largeMb} MiB + ${smallFiles} x ${smallSize} B)`);
  console.log(
    `buildah bud + push oci-archive: ${bud.toFixed(2)} + ${push.toFixed(2)} = ${buildahTotal.toFixed(2)} s`,
  );
  for (const [name, r] of [
    ['gzip', gz],
    ['zstd', zs],
  ] as const) {
    const total = r.build + r.save;
    console.log(
      `berth build + save (${name}):    ${r.build.toFixed(2)} + ${r.save.toFixed(2)} = ${total.toFixed(2)} s, ratio berth/buildah ${(total / buildahTotal).toFixed(2)}${name === 'gzip' ? ' (target <= 0.60)' : ''}`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

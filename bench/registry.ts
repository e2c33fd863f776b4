// berth's registry client against skopeo, the same work side by side in one run, both against local
// stock docker-registry instances over plain HTTP on 127.0.0.1:
//   (a) pull and push of a generated multi-layer image (BENCH_IMAGE_MIB, default 1024 MiB);
//   (b) saving a list of images into a registry directory vs `skopeo sync --src docker --dest dir`.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { closeDispatchers } from '../src/image/registry/transport.js';
import { saveImagesToRegistryDir } from '../src/image/registry-dir.js';
import { startRegistry, type TestRegistry } from '../test/helpers/test-registry.js';

const bin = fileURLToPath(new URL('../../bin/berth', import.meta.url));
const imageMiB = Number(process.env.BENCH_IMAGE_MIB ?? 1024);
const layers = 8;
const listSize = Number(process.env.BENCH_LIST ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(name: string, data: Buffer): Promise<Buffer> {
  const p = pack();
  p.entry({ name, size: data.length, mtime: new Date(0) }, data);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function blob(layout: string, data: Buffer): { digest: string; size: number } {
  const digest = sha(data);
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

/** An OCI layout holding images named by `tags`, each with the given layer sizes (MiB). */
async function makeLayout(layout: string, images: Array<{ tag: string; layerMiB: number[]; seed?: Buffer }>) {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const entries = [];
  for (const img of images) {
    const descs = [];
    const diffIds = [];
    for (const [i, mib] of img.layerMiB.entries()) {
      const tar = await tarOf(`data/${i}`, i === 0 && img.seed ? img.seed : randomBytes(mib * 1024 * 1024));
      const gz = gzipSync(tar, { level: 1 });
      diffIds.push(sha(tar));
      descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(layout, gz) });
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: diffIds },
        config: { Labels: { t: img.tag } },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(layout, config) },
        layers: descs,
      }),
    );
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...blob(layout, manifest),
      annotations: { 'org.opencontainers.image.ref.name': img.tag },
    });
  }
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: entries }));
}

function timed(label: string, fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`  ${label}: ${s.toFixed(2)} s\n`);
  return s;
}

async function timedAsync(label: string, fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`  ${label}: ${s.toFixed(2)} s\n`);
  return s;
}

const skopeo = (...args: string[]) =>
  execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
const berth = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  execFileSync(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, CI: '1' },
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ratio = (b: number, s: number) => `berth/skopeo = ${(b / s).toFixed(2)}`;

const work = mkdtempSync(join(tmpdir(), 'bench-reg-'));
const regs: TestRegistry[] = [];
try {
  const source = await startRegistry();
  const berthDest = await startRegistry();
  const skopeoDest = await startRegistry();
  regs.push(source, berthDest, skopeoDest);

  // (a) one big image
  const perLayer = Math.max(1, Math.round(imageMiB / layers));
  process.stdout.write(`(a) image of ${layers} layers x ${perLayer} MiB, generating...\n`);
  const layout = join(work, 'layout');
  await makeLayout(layout, [{ tag: 'big', layerMiB: Array(layers).fill(perLayer) }]);
  skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:big`, `docker://${source.host}/bench/big:1`);
  const home = join(work, 'home');
  // Pulls are short and disk-bound, so one run of each swings by a fifth; rounds alternate who goes first
  // and the medians are compared. The last round's copies are what the pushes send.
  const pullsB: number[] = [];
  const pullsS: number[] = [];
  for (let round = 0; round < rounds; round++) {
    rmSync(home, { recursive: true, force: true });
    rmSync(join(work, 'skopeo-oci'), { recursive: true, force: true });
    const pulls = [
      () =>
        pullsB.push(
          timed('berth pull', () => berth({ BERTH_HOME: home }, 'pull', `${source.host}/bench/big:1`)),
        ),
      () =>
        pullsS.push(
          timed('skopeo copy docker:// -> oci:', () =>
            skopeo(
              'copy',
              '--src-tls-verify=false',
              `docker://${source.host}/bench/big:1`,
              `oci:${join(work, 'skopeo-oci')}:big`,
            ),
          ),
        ),
    ];
    for (const pull of round % 2 === 0 ? pulls : pulls.reverse()) {
      // the previous copy's dirty pages are flushed first, so that writeback does not land on this one
      execFileSync('sync');
      pull();
    }
  }
  const pullB = median(pullsB);
  const pullS = median(pullsS);
  const pushB = timed('berth push', () =>
    berth({ BERTH_HOME: home }, 'push', `${source.host}/bench/big:1`, `${berthDest.host}/bench/big:1`),
  );
  const pushS = timed('skopeo copy oci: -> docker://', () =>
    skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${join(work, 'skopeo-oci')}:big`,
      `docker://${skopeoDest.host}/bench/big:1`,
    ),
  );
  process.stdout.write(
    `  pull (median of ${rounds}): ${ratio(pullB, pullS)}; push: ${ratio(pushB, pushS)}\n`,
  );

  // (b) a list of images into a registry dir; pairs of images share their first layer
  process.stdout.write(`(b) ${listSize} images of 3 layers (16+8+4 MiB, first layer shared in pairs)\n`);
  const listLayout = join(work, 'list-layout');
  const seeds = Array.from({ length: Math.ceil(listSize / 2) }, () => randomBytes(16 * 1024 * 1024));
  const images = Array.from({ length: listSize }, (_, i) => ({
    tag: `img${i}`,
    layerMiB: [16, 8, 4],
    seed: seeds[i >> 1],
  }));
  await makeLayout(listLayout, images);
  const refs = images.map((img, i) => {
    const ref = `${source.host}/bench/list${i}:v1`;
    skopeo('copy', '--dest-tls-verify=false', `oci:${listLayout}:${img.tag}`, `docker://${ref}`);
    return ref;
  });
  process.env.BERTH_HOME = home;
  const saveB = await timedAsync('berth saveImagesToRegistryDir', () =>
    saveImagesToRegistryDir(refs, join(work, 'berth-registry'), {
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    }),
  );
  const saveS = timed('skopeo sync --src docker --dest dir (each image)', () => {
    for (const ref of refs)
      skopeo(
        'sync',
        '--src',
        'docker',
        '--dest',
        'dir',
        '--src-tls-verify=false',
        ref,
        join(work, 'skopeo-dir'),
      );
  });
  process.stdout.write(`  save list: ${ratio(saveB, saveS)}\n`);
  await timedAsync('berth again, every image already complete', () =>
    saveImagesToRegistryDir(refs, join(work, 'berth-registry'), {
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    }),
  );
} finally {
  await closeDispatchers();
  for (const r of regs) await r.stop();
  rmSync(work, { recursive: true, force: true });
}

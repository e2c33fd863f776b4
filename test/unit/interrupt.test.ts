import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { interruptBerth } from '../helpers/run-berth.js';

// One Ctrl-C (a real SIGINT to a real berth process) stops a long local command: it prints
// `interrupted`, exits 130 and leaves the image store as it was, with no partial file anywhere. The work
// is made long with sparse files, which cost no disk until berth copies them.

const big = 8 * 1024 ** 3;

function workDir(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 't-interrupt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** What a command may change in a store: blobs, names and the ingest dir. */
function storeState(root: string) {
  const index = join(root, 'index.json');
  return {
    blobs: list(join(root, 'blobs', 'sha256')),
    ingest: list(join(root, 'ingest')),
    index: existsSync(index) ? JSON.parse(readFileSync(index, 'utf8')).manifests : [],
  };
}

function sparse(path: string, size: number): void {
  writeFileSync(path, '');
  truncateSync(path, size);
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A stored image `docker.io/t/big:1` whose one layer is a sparse file (its digest is not checked by save). */
function sparseImage(root: string): void {
  const blobs = join(root, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerDigest = `sha256:${'ab'.repeat(32)}`;
  sparse(join(blobs, layerDigest.slice(7)), big);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  });
  writeFileSync(join(blobs, sha(config).slice(7)), config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha(config),
      size: config.length,
    },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: big }],
  });
  writeFileSync(join(blobs, sha(manifest).slice(7)), manifest);
  writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'docker.io/t/big:1' },
        },
      ],
    }),
  );
}

/** A tar whose first entry is a blob of `size` zero bytes, written sparse: a one-header ustar file. */
function sparseArchive(path: string, size: number): void {
  const h = Buffer.alloc(512);
  const put = (text: string, at: number) => h.write(text, at, 'latin1');
  put(`blobs/sha256/${'cd'.repeat(32)}`, 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put('0', 156);
  put('ustar\0', 257);
  put('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const fd = openSync(path, 'w');
  writeSync(fd, h);
  closeSync(fd);
  truncateSync(path, 512 + size + 1024);
}

test('Ctrl-C stops berth build, which leaves no layer and no ingest file behind', async (t) => {
  const dir = workDir(t);
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  sparse(join(ctx, 'big'), big);
  writeFileSync(join(ctx, 'Kubefile'), 'FROM scratch\nCOPY big /big\n');
  const root = join(dir, 'home', 'images');
  const r = await interruptBerth(['build', '-t', 't/big:1', ctx], { BERTH_HOME: join(dir, 'home') }, () =>
    list(join(root, 'ingest')).some((n) => !n.startsWith('index-')),
  );
  assert.ok(r.signalled, `berth ended before the layer was being written: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^berth: interrupted$/m);
  assert.doesNotMatch(r.stderr, /built/);
  assert.deepEqual(storeState(root), { blobs: [], ingest: [], index: [] });
});

test('Ctrl-C stops berth save, which leaves no partial archive behind', async (t) => {
  const dir = workDir(t);
  const root = join(dir, 'home', 'images');
  sparseImage(root);
  const before = storeState(root);
  const out = join(dir, 'out');
  mkdirSync(out);
  const r = await interruptBerth(
    ['save', 't/big:1', '-o', join(out, 'big.tar')],
    { BERTH_HOME: join(dir, 'home') },
    () => list(out).length > 0,
  );
  assert.ok(r.signalled, `berth ended before it wrote the archive: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^berth: interrupted$/m);
  assert.deepEqual(list(out), []);
  assert.deepEqual(storeState(root), before);
});

test('Ctrl-C stops berth load, which leaves no blob and no ingest file behind', async (t) => {
  const dir = workDir(t);
  const archive = join(dir, 'big.tar');
  sparseArchive(archive, 6 * 1024 ** 3);
  const root = join(dir, 'home', 'images');
  const r = await interruptBerth(['load', '-i', archive], { BERTH_HOME: join(dir, 'home') }, () =>
    list(join(root, 'ingest')).some((n) => !n.startsWith('index-')),
  );
  assert.ok(r.signalled, `berth ended before it stored the blob: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^berth: interrupted$/m);
  assert.deepEqual(storeState(root), { blobs: [], ingest: [], index: [] });
});

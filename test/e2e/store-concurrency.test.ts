// Two berth processes on one local store at once: two builds that share a layer's bytes, then two pulls of
// one image from a loopback registry. Both of each pair must succeed, and the store must be whole after:
// every blob's content has the digest it is stored under, every name resolves, nothing is left in ingest/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../helpers/test-registry.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));

function berth(home: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, BERTH_HOME: home, CI: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function both(home: string, a: string[], b: string[]): Promise<void> {
  const [ra, rb] = await Promise.all([berth(home, a), berth(home, b)]);
  assert.equal(ra.code, 0, `berth ${a.join(' ')}: ${ra.stderr}`);
  assert.equal(rb.code, 0, `berth ${b.join(' ')}: ${rb.stderr}`);
}

function assertStoreWhole(home: string, names: string[]): void {
  const blobs = join(home, 'images', 'blobs', 'sha256');
  let count = 0;
  for (const hex of readdirSync(blobs)) {
    const got = createHash('sha256')
      .update(readFileSync(join(blobs, hex)))
      .digest('hex');
    assert.equal(got, hex, `blob ${hex} holds other content`);
    count++;
  }
  assert.ok(count > 0);
  const ingest = join(home, 'images', 'ingest');
  const left = readdirSync(ingest, { withFileTypes: true }).filter((d) => !d.name.endsWith('.lock'));
  assert.deepEqual(
    left.map((d) => d.name),
    [],
    'nothing left in ingest/',
  );
  const index = JSON.parse(readFileSync(join(home, 'images', 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const stored = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
  for (const n of names)
    assert.ok(
      stored.some((s) => s.endsWith(n)),
      `${n} is named in index.json`,
    );
  for (const m of index.manifests) readFileSync(join(blobs, m.digest.slice('sha256:'.length)));
}

test('two builds and two pulls at once on one store leave it whole', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'berth-store-conc-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const home = join(work, 'home');
  const shared = randomBytes(24 << 20);
  for (const name of ['a', 'b']) {
    const ctx = join(work, name);
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'shared.bin'), shared);
    writeFileSync(join(ctx, 'own.bin'), randomBytes(24 << 20));
    writeFileSync(
      join(ctx, 'Kubefile'),
      'FROM scratch\nCOPY shared.bin /shared.bin\nCOPY own.bin /own.bin\n',
    );
  }
  await both(
    home,
    ['build', '-t', 'conc/a:1', join(work, 'a')],
    ['build', '-t', 'conc/b:1', join(work, 'b')],
  );
  assertStoreWhole(home, ['conc/a:1', 'conc/b:1']);

  const registry = await startRegistry();
  t.after(() => registry.stop());
  const remote = `${registry.host}/conc/a:1`;
  const push = await berth(home, ['push', 'conc/a:1', remote]);
  assert.equal(push.code, 0, push.stderr);
  const pulled = join(work, 'pulled');
  await both(pulled, ['pull', remote], ['pull', remote]);
  assertStoreWhole(pulled, [remote]);
});

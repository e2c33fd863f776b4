import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { noise, writeOciImage } from '../helpers/oci-fixture.js';
import { interruptBerth, runBerth } from '../helpers/run-berth.js';
import { startRegistry } from '../helpers/test-registry.js';

// One Ctrl-C (a real SIGINT to a real berth process) stops a pull or push whose blob transfer has
// stalled: exit 130, `interrupted`, no "done" line, nothing half-written in the store. A registry that
// dies mid-push gives its error, not a "done" line first. A plain node:http proxy in front of a real
// registry stalls or cuts blob transfers after `stallAfter` bytes.

const stallAfter = 64 * 1024;
type Mode = 'pass' | 'stall' | 'cut';

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function names(home: string): string[] {
  const index = join(home, 'images', 'index.json');
  if (!existsSync(index)) return [];
  const manifests = JSON.parse(readFileSync(index, 'utf8')).manifests as Array<{
    annotations?: Record<string, string>;
  }>;
  return manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}

test('Ctrl-C stops a stalled pull and push; a registry dying mid-push prints no "done"', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-interrupt-reg-'));
  const reg = await startRegistry();
  let mode: Mode = 'pass';
  let blobBytes = 0;
  const proxy = createServer((req, res) => {
    const blobGet = req.method === 'GET' && !!req.url?.includes('/blobs/sha256:');
    const upload = req.method === 'PATCH' || (req.method === 'PUT' && !!req.url?.includes('/uploads/'));
    const up = httpRequest(
      { host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.on('data', (chunk: Buffer) => {
          if (blobGet && mode !== 'pass') {
            if (blobBytes >= stallAfter) return upRes.pause();
            blobBytes += chunk.length;
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (upload && mode !== 'pass') {
        blobBytes += chunk.length;
        if (blobBytes >= stallAfter) {
          if (mode === 'cut') {
            up.destroy();
            req.socket.destroy();
          } else req.pause();
          return;
        }
      }
      up.write(chunk);
    });
    req.on('end', () => up.end());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyHost = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  t.after(async () => {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const layout = join(work, 'layout');
  await writeOciImage(layout, 'big', [
    { platform: { os: 'linux', architecture: 'amd64' }, files: { 'data/blob': noise(4_000_000) } },
  ]);
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:big`,
      `docker://${reg.host}/t-int/big:1`,
    ],
    { stdio: 'ignore' },
  );

  await t.test('pull', async () => {
    const home = join(work, 'pull-home');
    mode = 'stall';
    blobBytes = 0;
    const r = await interruptBerth(
      ['pull', `${proxyHost}/t-int/big:1`],
      { BERTH_HOME: home },
      () => list(join(home, 'images', 'partial')).length > 0 && blobBytes >= stallAfter,
    );
    assert.ok(r.signalled, `pull ended before its download stalled: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^berth: interrupted$/m);
    assert.doesNotMatch(r.stderr, /done \(/);
    assert.deepEqual(list(join(home, 'images', 'ingest')), []);
    assert.deepEqual(names(home), []);
  });

  const home = join(work, 'push-home');
  mode = 'pass';
  const pulled = await runBerth(['pull', `${reg.host}/t-int/big:1`], { BERTH_HOME: home });
  assert.equal(pulled.code, 0, pulled.stderr);

  await t.test('push', async () => {
    mode = 'stall';
    blobBytes = 0;
    const r = await interruptBerth(
      ['push', `${reg.host}/t-int/big:1`, `${proxyHost}/t-int/copy:1`],
      { BERTH_HOME: home },
      () => blobBytes >= stallAfter,
    );
    assert.ok(r.signalled, `push ended before its upload stalled: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^berth: interrupted$/m);
    assert.doesNotMatch(r.stderr, /done \(/);
  });

  await t.test('a registry that dies mid-push', async () => {
    mode = 'cut';
    blobBytes = 0;
    const r = await runBerth(['push', `${reg.host}/t-int/big:1`, `${proxyHost}/t-int/cut:1`], {
      BERTH_HOME: home,
    });
    assert.equal(r.code, 8, r.stderr);
    assert.doesNotMatch(r.stderr, /done \(/);
    assert.match(r.stderr, /^berth: 127\.0\.0\.1:\d+: PATCH .* failed/m);
  });
});

// An interrupted blob download continues where it stopped, within one run and across runs: a plain
// node:http proxy in front of the registry cuts blob responses short and records the Range headers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { noise, writeOciImage } from '../helpers/oci-fixture.js';
import { runBerth } from '../helpers/run-berth.js';
import { startRegistry } from '../helpers/test-registry.js';

const cutAfter = 100_000;

test('an interrupted pull resumes from the .partial file with a Range request', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-resume-'));
  const reg = await startRegistry();
  const seen: IncomingHttpHeaders[] = [];
  let cutting = true;
  const proxy = createServer((req, res) => {
    if (req.url?.includes('/blobs/')) seen.push(req.headers);
    const up = httpRequest(
      { host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        let sent = 0;
        const cut = cutting && req.method === 'GET' && !!req.url?.includes('/blobs/');
        upRes.on('data', (chunk: Buffer) => {
          if (cut && sent + chunk.length > cutAfter) {
            // end() rather than destroy(): the bytes up to the cut reach berth before the FIN whatever the
            // machine's load (destroy() drops what is still queued), and the body still falls short of its
            // Content-Length
            res.write(chunk.subarray(0, cutAfter - sent));
            res.socket?.end();
            upRes.destroy();
            return;
          }
          sent += chunk.length;
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
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
  const image = await writeOciImage(layout, 'big', [
    { platform: { os: 'linux', architecture: 'amd64' }, files: { 'data/blob': noise(1_000_000) } },
  ]);
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:big`,
      `docker://${reg.host}/t-resume/big:1`,
    ],
    {
      stdio: 'ignore',
    },
  );
  // debug lines say at which byte each try stopped and resumed, should an assertion below fail
  const env = { BERTH_HOME: join(work, 'home'), BERTH_DEBUG: '1' };

  const first = await runBerth(['pull', `${proxyHost}/t-resume/big:1`], env);
  assert.equal(first.code, 8, first.stderr);
  assert.match(first.stderr, /download failed after 3 tries/);
  const partialDir = join(work, 'home', 'images', 'partial');
  const partials = readdirSync(partialDir);
  assert.equal(partials.length, 1, `${partials.join(' ')}\n${first.stderr}`);
  const kept = statSync(join(partialDir, partials[0]!)).size;
  // The tries after the first appended to the same file: up to cutAfter bytes each (berth may lose what it
  // had not yet written when the cut came).
  assert.ok(kept > 0 && kept <= 3 * cutAfter, `partial holds ${kept} bytes\n${first.stderr}`);
  assert.ok(
    seen.some((h) => h.range && h.range !== 'bytes=0-'),
    `the retries within the first run asked for a Range; ranges asked: ${seen.map((h) => h.range ?? '-').join(' ')}\n${first.stderr}`,
  );

  cutting = false;
  const before = seen.length;
  const second = await runBerth(['pull', `${proxyHost}/t-resume/big:1`], env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.trim(), image.digest);
  const ranges = seen
    .slice(before)
    .map((h) => h.range)
    .filter(Boolean);
  assert.deepEqual(ranges, [`bytes=${kept}-`], second.stderr);
  assert.deepEqual(readdirSync(partialDir), []);
});

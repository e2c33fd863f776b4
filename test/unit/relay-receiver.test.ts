// The receiver script and relay program run here for real, as the first host of a chain runs them: the
// control line and the tar stream on stdin, the tree unpacked in staging and renamed into place only once
// the stream's length and sha256 match.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalTree } from '../../src/ssh/index.js';
import { receiverScript } from '../../src/ssh/relay/receiver-script.js';
import { RELAY_STREAM_FAILED } from '../../src/ssh/relay/relay-program.js';
import { treeStream, treeStreamDigest } from '../../src/ssh/relay/tree-stream.js';

function runScript(script: string, input: Buffer): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

async function collect(tree: LocalTree): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of treeStream(tree)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function fixture(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-relay-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin', 'tool'), '#!/bin/sh\necho hi\n');
  chmodSync(join(src, 'bin', 'tool'), 0o755);
  writeFileSync(join(src, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  symlinkSync('bin/tool', join(src, 'link'));
  return { dir, src, dest: join(dir, 'var', 'rootfs') };
}

const bounds = { acceptSeconds: 5, idleSeconds: 5, ipv6: false };

test('the same tree always gives the same stream and digest', async (t) => {
  const { src } = fixture(t);
  const tree = await LocalTree.scan(src);
  const a = await treeStreamDigest(tree);
  const b = await treeStreamDigest(tree);
  assert.deepEqual(a, b);
  assert.equal((await collect(tree)).length, a.size);
});

test('a whole stream is unpacked and renamed into place, replacing the old tree but keeping what is kept', async (t) => {
  const { dir, src, dest } = fixture(t);
  mkdirSync(join(dest, 'registry'), { recursive: true });
  writeFileSync(join(dest, 'registry', 'blob'), 'kept');
  writeFileSync(join(dest, 'stale'), 'old');
  const tree = await LocalTree.scan(src);
  const digest = await treeStreamDigest(tree);
  const script = receiverScript({ dest, ...digest, ...bounds, keep: ['registry'] });
  const r = await runScript(script, Buffer.concat([Buffer.from('- -\n'), await collect(tree)]));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dest, 'big')).length, 3 * 1024 * 1024 + 17);
  assert.equal(readFileSync(join(dest, 'bin', 'tool'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(readFileSync(join(dest, 'link'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(readFileSync(join(dest, 'registry', 'blob'), 'utf8'), 'kept');
  assert.equal(existsSync(join(dest, 'stale')), false);
  assert.deepEqual(readdirSync(join(dir, 'var')), ['rootfs'], 'no staging directory is left');
});

test('a stream cut short or altered is refused with the relay status and nothing placed', async (t) => {
  const { dir, src, dest } = fixture(t);
  const tree = await LocalTree.scan(src);
  const digest = await treeStreamDigest(tree);
  const stream = await collect(tree);
  const script = receiverScript({ dest, ...digest, ...bounds });
  const cut = await runScript(
    script,
    Buffer.concat([Buffer.from('- -\n'), stream.subarray(0, 2 * 1024 * 1024)]),
  );
  assert.equal(cut.code, RELAY_STREAM_FAILED);
  assert.match(cut.stderr, /cut short: 2097152 of \d+ bytes/);
  const altered = Buffer.from(stream);
  altered[1024 * 1024] ^= 1;
  const bad = await runScript(script, Buffer.concat([Buffer.from('- -\n'), altered]));
  assert.equal(bad.code, RELAY_STREAM_FAILED);
  assert.match(bad.stderr, /has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(join(dir, 'var')), []);
});

test('staging left by a killed receiver is removed on the next run', async (t) => {
  const { dir, src, dest } = fixture(t);
  mkdirSync(join(dir, 'var', '.berth-relay.abc123', 't'), { recursive: true });
  const tree = await LocalTree.scan(src);
  const digest = await treeStreamDigest(tree);
  const r = await runScript(
    receiverScript({ dest, ...digest, ...bounds }),
    Buffer.concat([Buffer.from('- -\n'), await collect(tree)]),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(dir, 'var')), ['rootfs']);
});

test('a receiver that gets no connection from its peer gives up within its bound', async (t) => {
  const { dest } = fixture(t);
  const started = Date.now();
  const r = await runScript(
    receiverScript({ dest, sha256: '0'.repeat(64), size: 1, ...bounds, acceptSeconds: 1 }),
    Buffer.from('127.0.0.9 -\n'),
  );
  assert.equal(r.code, RELAY_STREAM_FAILED);
  assert.match(r.stderr, /no connection from 127\.0\.0\.9 within 1 s/);
  assert.ok(Date.now() - started < 5000);
});

// The receiver script and relay program run here for real, as the first host of a chain runs them: the
// control line and the tar stream on stdin, the tree unpacked in staging and renamed into place only once
// the stream's length and sha256 match. Partial streams are planned against real listings of local
// directories standing for the hosts' existing trees.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ExecResult, LocalTree } from '../../src/ssh/index.js';
import { receiverScript } from '../../src/ssh/relay/receiver-script.js';
import { RELAY_STREAM_FAILED } from '../../src/ssh/relay/relay-program.js';
import { planStream, type StreamPlan, wholeTree } from '../../src/ssh/relay/stream-plan.js';
import { treeStream, treeStreamDigest } from '../../src/ssh/relay/tree-stream.js';
import { diffWithHost } from '../../src/ssh/tree-copy.js';

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

async function collect(tree: LocalTree, plan: StreamPlan = wholeTree(tree)): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of treeStream(tree, plan)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a host command here, as the SSH layer would on a host. */
async function runLocally(command: string, opts: { stdin?: unknown }): Promise<ExecResult> {
  const input = Buffer.isBuffer(opts.stdin) ? opts.stdin : undefined;
  const r = spawnSync('sh', ['-c', command], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { code: 0, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry's type, mode, path, link target and content digest, as one sorted text. */
function listing(root: string): string {
  const cmd = `cd ${root} && find . -mindepth 1 -printf '%y %m %p %l %n\\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function copyOf(from: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
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
  const a = await treeStreamDigest(tree, wholeTree(tree));
  const b = await treeStreamDigest(tree, wholeTree(tree));
  assert.deepEqual(a, b);
  assert.equal((await collect(tree)).length, a.size);
});

test('a whole stream is unpacked and renamed into place, replacing the old tree but keeping what is kept', async (t) => {
  const { dir, src, dest } = fixture(t);
  mkdirSync(join(dest, 'registry'), { recursive: true });
  writeFileSync(join(dest, 'registry', 'blob'), 'kept');
  writeFileSync(join(dest, 'stale'), 'old');
  const tree = await LocalTree.scan(src);
  const digest = await treeStreamDigest(tree, wholeTree(tree));
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
  const digest = await treeStreamDigest(tree, wholeTree(tree));
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
  const digest = await treeStreamDigest(tree, wholeTree(tree));
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

/** A new tree beside two hosts' copies of the old one: each host differs in one way, one file is shared. */
async function upgradeFixture(t: { after: (fn: () => void) => void }) {
  const f = fixture(t);
  writeFileSync(join(f.src, 'same'), Buffer.alloc(1024 * 1024, 3));
  const hostA = join(f.dir, 'a', 'rootfs');
  const hostB = join(f.dir, 'b', 'rootfs');
  copyOf(f.src, hostA);
  copyOf(f.src, hostB);
  writeFileSync(join(hostA, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17, 8));
  chmodSync(join(hostB, 'bin', 'tool'), 0o700);
  mkdirSync(join(f.src, 'etc'));
  writeFileSync(join(f.src, 'etc', 'new'), 'new\n');
  for (const h of [hostA, hostB]) {
    writeFileSync(join(h, 'stale'), 'old');
    mkdirSync(join(h, 'gone', 'deep'), { recursive: true });
    mkdirSync(join(h, 'registry'));
    writeFileSync(join(h, 'registry', 'blob'), 'kept');
  }
  const tree = await LocalTree.scan(f.src);
  const diffs = await Promise.all([hostA, hostB].map((h) => diffWithHost(runLocally, tree, h)));
  return { ...f, hostA, hostB, tree, diffs };
}

test('the stream carries every file some host lacks, every directory and symlink, and lists the rest', async (t) => {
  const { tree, diffs, dir, src } = await upgradeFixture(t);
  const plan = await planStream(tree, diffs);
  assert.deepEqual(
    plan.entries.map((e) => `${e.type} ${e.rel}`),
    ['file big', 'dir bin', 'file bin/tool', 'dir etc', 'file etc/new', 'symlink link'],
  );
  assert.deepEqual(plan.reused, [
    { rel: 'same', mode: statSync(join(src, 'same')).mode & 0o7777, sha256: await tree.sha256('same') },
  ]);
  const fresh = await diffWithHost(runLocally, tree, join(dir, 'none', 'rootfs'));
  assert.equal(fresh.exists, false);
  assert.deepEqual(await planStream(tree, [...diffs, fresh]), wholeTree(tree));
  const whole = await treeStreamDigest(tree, wholeTree(tree));
  const partial = await treeStreamDigest(tree, plan);
  assert.ok(whole.size - partial.size >= 1024 * 1024, 'the shared file is not in the stream');
});

test('a partial stream over an existing tree leaves exactly the new tree, with what is kept', async (t) => {
  const { tree, diffs, dir, src, hostA, hostB } = await upgradeFixture(t);
  const plan = await planStream(tree, diffs);
  const digest = await treeStreamDigest(tree, plan);
  const stream = Buffer.concat([Buffer.from('- -\n'), await collect(tree, plan)]);
  const oldInode = statSync(join(hostA, 'same')).ino;
  for (const dest of [hostA, hostB]) {
    const r = await runScript(receiverScript({ dest, ...digest, ...bounds, keep: ['registry'] }), stream);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dest, 'registry', 'blob'), 'utf8'), 'kept');
    rmSync(join(dest, 'registry'), { recursive: true });
    assert.equal(listing(dest), listing(src), `${dest} differs from the new tree`);
    assert.deepEqual(readdirSync(join(dest, '..')), ['rootfs'], 'no staging directory is left');
  }
  assert.notEqual(statSync(join(hostA, 'same')).ino, oldInode, 'the reused file is a copy');
  assert.equal(existsSync(join(dir, 'a', 'rootfs', 'stale')), false);
});

test('a host whose existing tree changed after it was listed keeps its old tree and asks for a direct copy', async (t) => {
  const { tree, diffs, hostA } = await upgradeFixture(t);
  const plan = await planStream(tree, diffs);
  const digest = await treeStreamDigest(tree, plan);
  writeFileSync(join(hostA, 'same'), Buffer.alloc(1024 * 1024, 4));
  const before = listing(hostA);
  const r = await runScript(
    receiverScript({ dest: hostA, ...digest, ...bounds, keep: ['registry'] }),
    Buffer.concat([Buffer.from('- -\n'), await collect(tree, plan)]),
  );
  assert.equal(r.code, RELAY_STREAM_FAILED);
  assert.match(r.stderr, /berth-relay: same in the existing tree has other content since berth listed it/);
  assert.equal(listing(hostA), before, 'the existing tree was changed');
  assert.deepEqual(readdirSync(join(hostA, '..')), ['rootfs'], 'no staging directory is left');
  rmSync(join(hostA, 'same'));
  const gone = await runScript(
    receiverScript({ dest: hostA, ...digest, ...bounds }),
    Buffer.concat([Buffer.from('- -\n'), await collect(tree, plan)]),
  );
  assert.equal(gone.code, RELAY_STREAM_FAILED);
  assert.match(gone.stderr, /same in the existing tree cannot be read \(No such file or directory\)/);
});

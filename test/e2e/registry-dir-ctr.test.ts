// A registry directory written by saveImagesToRegistryDir, copied to a sandbox host and served there by the
// stock docker-registry, is pulled by containerd's `ctr` on another sandbox host through certs.d mirrors for
// docker.io and registry.k8s.io, and the pulled images carry the digests they had in the source registry.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeDispatchers } from '../../src/image/registry/transport.js';
import { saveImagesToRegistryDir } from '../../src/image/registry-dir.js';
import type { Platform } from '../../src/image/types.js';
import type { SandboxHost } from '../../src/sandbox/index.js';
import { SshPool, type SshSession, shellQuote } from '../../src/ssh/index.js';
import { writeOciImage } from '../helpers/oci-fixture.js';
import { withSandbox } from '../helpers/sandbox.js';
import { startRegistry } from '../helpers/test-registry.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const arch = goArch[process.arch] ?? process.arch;
const here: Platform = { os: 'linux', architecture: arch };
const elsewhere: Platform = { os: 'linux', architecture: arch === 'amd64' ? 'arm64' : 'amd64' };

// Every remote file of the test lives in this directory on each host's private /run (a tmpfs that goes
// with the sandbox); the random part keeps two runs on one machine apart.
const remote = `/run/t-ctr-${randomBytes(4).toString('hex')}`;

function sourceDigest(ref: string): string {
  return sha(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
}

/** Starts `command` detached on the host with its output in `log`; returns its PID. */
async function startInBackground(s: SshSession, command: string, log: string): Promise<number> {
  const r = await s.exec(`nohup ${command} >${shellQuote(log)} 2>&1 </dev/null & echo $!`);
  const pid = Number(r.stdout.trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `no PID from: ${command}`);
  return pid;
}

/** Ends a process the test started: TERM, then KILL when it is still there after 5 s. */
async function stopProcess(s: SshSession, pid: number): Promise<void> {
  await s.exec(
    `kill ${pid} 2>/dev/null || exit 0; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -9 ${pid} 2>/dev/null; true`,
    { timeoutMs: 15_000 },
  );
}

async function waitForRegistry(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 150 && Date.now() < deadline; i++) {
    // No keep-alive agent: a pooled idle socket would hold the test process open after the sandbox is gone.
    const ok = await new Promise<boolean>((resolve) => {
      const req = get(url, { agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`docker-registry did not answer ${url}`);
}

function hostsToml(mirror: string, upstream: string): string {
  return `server = "${upstream}"\n\n[host."${mirror}"]\n  capabilities = ["pull", "resolve"]\n`;
}

function containerdConfig(dir: string): string {
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    // Only the image service is needed; CRI would also set up CNI and a streaming server.
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${dir}/containerd.sock"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '',
  ].join('\n');
}

/** `ctr images ls` rows as ref → digest. */
function imageDigests(table: string): Map<string, string> {
  const rows = table.trim().split('\n').slice(1);
  return new Map(rows.map((row) => row.trim().split(/\s+/)).map(([ref, , digest]) => [ref!, digest!]));
}

test('a saved registry dir served on one sandbox host is pulled by ctr on another', {
  skip: process.getuid?.() !== 0 && 'needs root (sandbox hosts)',
}, async (t) => {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 't-rdir-ctr-'));
  const home = mkdtempSync(join(tmpdir(), 't-rdir-ctr-home-'));
  process.env.BERTH_HOME = home;
  const pool = new SshPool({ knownHostsPath: join(home, 'known_hosts') });
  const running: Array<{ session: SshSession; pid: number }> = [];
  let src: Awaited<ReturnType<typeof startRegistry>> | undefined;
  // Registered first, so it runs before the sandbox goes down: processes are stopped by their PIDs.
  t.after(async () => {
    for (const { session, pid } of running.reverse()) await stopProcess(session, pid).catch(() => {});
    await pool.closeAll();
    await closeDispatchers();
    await src?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  src = await startRegistry();
  const source = src.host;
  const layout = join(work, 'layout');
  const busybox = await writeOciImage(layout, 'busybox', [
    { platform: here, files: { 'bin/busybox': readFileSync('/bin/busybox') } },
    { platform: elsewhere, files: { 'etc/arch': Buffer.from(elsewhere.architecture) } },
  ]);
  const pause = await writeOciImage(layout, 'pause', [
    { platform: here, files: { pause: Buffer.from('#!/bin/sh\nexec sleep 3600\n') } },
  ]);
  const push = (tag: string, dest: string) =>
    execFileSync('skopeo', [
      '--insecure-policy',
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${layout}:${tag}`,
      `docker://${source}/${dest}`,
    ]);
  push('busybox', 'library/busybox:1');
  push('pause', 'pause:3.9');
  const want = {
    'docker.io/library/busybox:1': sourceDigest(`${source}/library/busybox:1`),
    'registry.k8s.io/pause:3.9': sourceDigest(`${source}/pause:3.9`),
  };
  assert.deepEqual(want, {
    'docker.io/library/busybox:1': busybox.digest,
    'registry.k8s.io/pause:3.9': pause.digest,
  });

  const dir = join(work, 'registry');
  const refs = [`${source}/library/busybox:1`, `${source}/pause:3.9`];
  const saved = await saveImagesToRegistryDir(refs, dir, { platforms: [here] });
  assert.deepEqual([...saved.saved].sort(), [...refs].sort());

  const sb = await withSandbox(t, { name: 't-rdir-ctr', hosts: 2 }).finally(() =>
    // Registered after the sandbox's own teardown, which needs its record under BERTH_HOME.
    t.after(() => rmSync(home, { recursive: true, force: true })),
  );
  const login = (h: SandboxHost) =>
    pool.session({ host: h.ip, user: 'root', privateKeyPath: sb.keyPath, hostKey: h.hostKey });
  const [h1, h2] = sb.hosts as [SandboxHost, SandboxHost];
  const [served, puller] = await Promise.all([login(h1), login(h2)]);

  // Host 1: the directory and a stock registry serving it.
  const copied = await served.putTree(dir, `${remote}/registry`);
  assert.ok(copied.filesSent > 0);
  await served.putFile(
    Buffer.from(
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: "${remote}/registry" } }`,
        `http: { addr: "${h1.ip}:5000" }`,
        '',
      ].join('\n'),
    ),
    `${remote}/registry.yml`,
  );
  running.push({
    session: served,
    pid: await startInBackground(
      served,
      `docker-registry serve ${remote}/registry.yml`,
      `${remote}/registry.log`,
    ),
  });
  await waitForRegistry(`http://${h1.ip}:5000/v2/`);

  // Host 2: certs.d mirrors naming host 1, and a containerd of the test's own.
  const mirror = `http://${h1.ip}:5000`;
  await puller.putFile(
    Buffer.from(hostsToml(mirror, 'https://registry-1.docker.io')),
    '/etc/containerd/certs.d/docker.io/hosts.toml',
  );
  await puller.putFile(
    Buffer.from(hostsToml(mirror, 'https://registry.k8s.io')),
    '/etc/containerd/certs.d/registry.k8s.io/hosts.toml',
  );
  await puller.putFile(Buffer.from(containerdConfig(remote)), `${remote}/config.toml`);
  const containerd = await startInBackground(
    puller,
    `containerd --config ${remote}/config.toml`,
    `${remote}/containerd.log`,
  );
  running.push({ session: puller, pid: containerd });
  const ctr = `ctr --address ${remote}/containerd.sock -n k8s.io`;
  const up = await puller.exec(
    `i=0; until ${ctr} version >/dev/null 2>&1; do kill -0 ${containerd} || exit 2; i=$((i+1)); [ $i -lt 150 ] || exit 1; sleep 0.1; done`,
    { allowFailure: true, timeoutMs: 30_000 },
  );
  if (up.code !== 0) {
    const log = await puller.exec(`tail -n 20 ${remote}/containerd.log`, { allowFailure: true });
    assert.fail(`containerd did not come up on ${h2.ip}: ${log.stdout}`);
  }

  for (const ref of Object.keys(want)) {
    const pulled = await puller.exec(`${ctr} images pull --hosts-dir /etc/containerd/certs.d ${ref}`, {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    assert.equal(pulled.code, 0, `ctr pull ${ref}: ${pulled.stdout}${pulled.stderr}`);
  }
  // Without internet the pulls can only have come from host 1; its access log shows they did.
  const access = (await served.exec(`cat ${remote}/registry.log`)).stdout;
  for (const path of ['/v2/library/busybox/manifests/1', '/v2/pause/manifests/3.9']) {
    assert.match(access, new RegExp(`^${h2.ip.replace(/\./g, '\\.')} .*"(HEAD|GET) ${path}[? ]`, 'm'), path);
  }
  const listed = imageDigests((await puller.exec(`${ctr} images ls`)).stdout);
  for (const [ref, digest] of Object.entries(want)) assert.equal(listed.get(ref), digest, ref);

  t.diagnostic(`pulled from a saved dir across sandbox hosts in ${Date.now() - started} ms`);
});

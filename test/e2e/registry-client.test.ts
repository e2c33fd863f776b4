// berth's registry client against the stock distribution registry (htpasswd auth over TLS from a test
// CA), with skopeo as the peer: what one pushes the other pulls with the same digests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { noise, writeOciImage } from '../helpers/oci-fixture.js';
import { runBerth } from '../helpers/run-berth.js';
import { startRegistry, type TestRegistry } from '../helpers/test-registry.js';

const user = 't-regc-user';
const password = 't-regc-Pa55word';
let reg: TestRegistry;
let work: string;
let env: NodeJS.ProcessEnv;
let layout: string;
let single: { digest: string; children: string[] };
let multi: { digest: string; children: string[] };

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function skopeo(args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Digest of what a tag points to in the registry, as skopeo sees it. */
function remoteDigest(ref: string): string {
  const raw = execFileSync(
    'skopeo',
    ['inspect', '--raw', '--cert-dir', reg.certDir!, '--creds', `${user}:${password}`, `docker://${ref}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return sha(raw);
}

function skopeoPush(src: string, dest: string, all = false): void {
  skopeo([
    'copy',
    ...(all ? ['--all'] : []),
    '--dest-cert-dir',
    reg.certDir!,
    '--dest-creds',
    `${user}:${password}`,
    src,
    `docker://${reg.host}/${dest}`,
  ]);
}

const berth = (args: string[], stdin = '') => runBerth([...args, '--ca-file', reg.caFile!], env, stdin);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 't-regc-'));
  env = { BERTH_HOME: join(work, 'home'), DOCKER_CONFIG: join(work, 'docker') };
  reg = await startRegistry({ tls: true, auth: { user, password } });
  layout = join(work, 'layout');
  single = await writeOciImage(layout, 'single', [
    {
      platform: { os: 'linux', architecture: 'amd64' },
      files: { 'bin/busybox': readFileSync('/bin/busybox'), 'data/noise': noise(300_000) },
    },
  ]);
  multi = await writeOciImage(layout, 'multi', [
    { platform: { os: 'linux', architecture: 'amd64' }, files: { 'etc/arch': Buffer.from('amd64\n') } },
    { platform: { os: 'linux', architecture: 'arm64' }, files: { 'etc/arch': Buffer.from('arm64\n') } },
  ]);
  skopeoPush(`oci:${layout}:single`, 't-regc/single:1');
  skopeoPush(`oci:${layout}:multi`, 't-regc/multi:1', true);
});

after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('login checks the TLS certificate and the credentials, then saves config.json with mode 0600', async () => {
  const noCa = await runBerth(['login', reg.host, '-u', user, '--password-stdin'], env, password);
  assert.equal(noCa.code, 8, noCa.stderr);
  assert.match(noCa.stderr, /certificate|--ca-file/);
  const wrong = await berth(['login', reg.host, '-u', user, '--password-stdin'], 'not-the-password');
  assert.equal(wrong.code, 8, wrong.stderr);
  assert.match(wrong.stderr, /credentials rejected|unauthorized/);
  assert.ok(!wrong.stderr.includes('not-the-password'));
  const ok = await berth(['login', reg.host, '-u', user, '--password-stdin'], password);
  assert.equal(ok.code, 0, ok.stderr);
  const path = join(work, 'docker', 'config.json');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const config = JSON.parse(readFileSync(path, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(config.auths[reg.host]!.auth, 'base64').toString(), `${user}:${password}`);
});

test('an image pushed by skopeo is pulled by berth with the same digest', async () => {
  const r = await berth(['pull', `${reg.host}/t-regc/single:1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), single.digest);
  assert.equal(remoteDigest(`${reg.host}/t-regc/single:1`), single.digest);
});

test('an image pushed by berth to another repository is mounted, and skopeo pulls it unchanged', async () => {
  const r = await berth(['push', `${reg.host}/t-regc/single:1`, `${reg.host}/t-regc/copy:2`]);
  assert.equal(r.code, 0, r.stderr);
  // Every blob lives in t-regc/single on the same registry: cross-repository mounts, no upload.
  assert.match(r.stderr, /pushed .*t-regc\/copy:2: 0 B uploaded/);
  const out = join(work, 'skopeo-out');
  skopeo([
    'copy',
    '--src-cert-dir',
    reg.certDir!,
    '--src-creds',
    `${user}:${password}`,
    `docker://${reg.host}/t-regc/copy:2`,
    `oci:${out}:copy`,
  ]);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  assert.equal(index.manifests[0]!.digest, single.digest);
});

test('berth uploads blobs the registry lacks, and pulls its own push back identically', async () => {
  const fresh = await writeOciImage(layout, 'fresh', [
    { platform: { os: 'linux', architecture: 'amd64' }, files: { 'data/fresh': noise(2_000_000) } },
  ]);
  skopeoPush(`oci:${layout}:fresh`, 't-regc/fresh-src:1');
  const pulled = await berth(['pull', `${reg.host}/t-regc/fresh-src:1`]);
  assert.equal(pulled.code, 0, pulled.stderr);
  // A registry that does not know the blobs: push to a repository on a second registry run.
  const other = await startRegistry({ tls: true });
  try {
    const pushed = await runBerth(
      ['push', `${reg.host}/t-regc/fresh-src:1`, `${other.host}/t-regc/fresh:1`, '--ca-file', other.caFile!],
      env,
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.doesNotMatch(pushed.stderr, / 0 B uploaded/);
    const raw = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--cert-dir',
      other.certDir!,
      `docker://${other.host}/t-regc/fresh:1`,
    ]);
    assert.equal(sha(raw), fresh.digest);
    const again = await runBerth(
      ['push', `${reg.host}/t-regc/fresh-src:1`, `${other.host}/t-regc/fresh:1`, '--ca-file', other.caFile!],
      env,
    );
    assert.match(again.stderr, / 0 B uploaded/, 'HEAD finds every blob on the second push');
  } finally {
    await other.stop();
  }
});

test('an index: --platform picks one child, --all-platforms keeps the index and every child', async () => {
  const arm = await berth(['pull', '--platform', 'linux/arm64', `${reg.host}/t-regc/multi:1`]);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(arm.stdout.trim(), multi.children[1]);
  const none = await berth(['pull', '--platform', 'linux/s390x', `${reg.host}/t-regc/multi:1`]);
  assert.equal(none.code, 8);
  assert.match(none.stderr, /no linux\/s390x image .*linux\/amd64, linux\/arm64/);
  const all = await berth(['pull', '--all-platforms', `${reg.host}/t-regc/multi:1`]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout.trim(), multi.digest);
  const pushed = await berth(['push', `${reg.host}/t-regc/multi:1`, `${reg.host}/t-regc/multi-copy:1`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.equal(remoteDigest(`${reg.host}/t-regc/multi-copy:1`), multi.digest);
  for (const child of multi.children) {
    const raw = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--cert-dir',
      reg.certDir!,
      '--creds',
      `${user}:${password}`,
      `docker://${reg.host}/t-regc/multi-copy@${child}`,
    ]);
    assert.equal(sha(raw), child);
  }
});

test('logout removes the saved credentials', async () => {
  const r = await runBerth(['logout', reg.host], env);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(work, 'docker', 'config.json'), 'utf8')) as { auths: object };
  assert.deepEqual(config.auths, {});
  const denied = await berth(['pull', `${reg.host}/t-regc/single:1`]);
  assert.equal(denied.code, 8);
  assert.match(denied.stderr, /berth login/);
});

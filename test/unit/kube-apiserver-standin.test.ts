// The kube-apiserver stand-in as its one-file bundle, run with the flags kubeadm's static pod manifest gives
// kube-apiserver, on a real etcd started here on loopback: health endpoints, the real kubectl with an admin
// client certificate, two API servers on one etcd seeing each other's objects, bootstrap-token bearer auth
// checked against its Secret (valid, wrong, expired) and RBAC, and kube-apiserver's refusals of bad flags.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcd, type TestEtcd } from '../helpers/etcd-server.js';
import { onFreePort, PortInUseError, saysPortInUse } from '../helpers/ports.js';
import { callHttps } from '../stand-ins/k3s/https-client.js';
import { type CertPair, newCa, signLeaf } from '../stand-ins/k3s/openssl-pki.js';
import { writeKubeApiserverStandIn } from '../stand-ins/kube-apiserver/install.js';

const dir = mkdtempSync(join(tmpdir(), 't-kube-apiserver-'));
let etcd: TestEtcd;
let binary: string;
let ca: CertPair;
let admin: CertPair;
const children: ChildProcess[] = [];

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** The kube-apiserver command line of a kubeadm v1.29 control plane, with this test's files and ports. */
function manifestFlags(port: number): string[] {
  return [
    '--advertise-address=127.0.0.1',
    '--allow-privileged=true',
    '--authorization-mode=Node,RBAC',
    `--client-ca-file=${join(dir, 'ca.crt')}`,
    '--enable-admission-plugins=NodeRestriction',
    '--enable-bootstrap-token-auth=true',
    `--etcd-cafile=${etcd.files.ca}`,
    `--etcd-certfile=${etcd.files.cert}`,
    `--etcd-keyfile=${etcd.files.key}`,
    `--etcd-servers=${etcd.endpoint}`,
    `--kubelet-client-certificate=${join(dir, 'admin.crt')}`,
    `--kubelet-client-key=${join(dir, 'admin.key')}`,
    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
    `--proxy-client-cert-file=${join(dir, 'admin.crt')}`,
    `--proxy-client-key-file=${join(dir, 'admin.key')}`,
    '--requestheader-allowed-names=front-proxy-client',
    `--requestheader-client-ca-file=${join(dir, 'ca.crt')}`,
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-username-headers=X-Remote-User',
    `--secure-port=${port}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/12',
    `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
  ];
}

function runOnce(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 20_000 }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }),
    );
  });
}

/** Starts one API server and waits (at most 20 s) for /readyz, on another port when its port was taken. */
function startApiserver(): Promise<string> {
  return onFreePort(startApiserverOn);
}

async function startApiserverOn(port: number): Promise<string> {
  const child = spawn(binary, manifestFlags(port), { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const r = await callHttps(`${url}/readyz`, { ca: ca.cert, timeoutMs: 1000 }).catch(() => undefined);
    if (r?.status === 200) return url;
    await sleep(200);
  }
  if (child.exitCode !== null && saysPortInUse(log))
    throw new PortInUseError(port, log.trim().split('\n').pop() ?? '');
  assert.fail(`kube-apiserver did not become ready at ${url}:\n${log}`);
}

function kubectl(url: string, ...args: string[]): Promise<string> {
  const kubeconfig = file(
    `kubeconfig-${url.replace(/\D/g, '')}`,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: c\n  cluster:\n    server: ${url}\n    certificate-authority: ${join(dir, 'ca.crt')}`,
      'users:',
      `- name: admin\n  user:\n    client-certificate: ${join(dir, 'admin.crt')}\n    client-key: ${join(dir, 'admin.key')}`,
      'contexts:',
      '- name: c\n  context:\n    cluster: c\n    user: admin',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (err, out, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(String(out)),
    );
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function tokenSecret(id: string, secret: string, expiration: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: {
      'token-id': b64(id),
      'token-secret': b64(secret),
      expiration: b64(expiration),
      'usage-bootstrap-authentication': b64('true'),
      'usage-bootstrap-signing': b64('true'),
      'auth-extra-groups': b64('system:bootstrappers:kubeadm:default-node-token'),
    },
  });
}

before(async () => {
  etcd = await startEtcd();
  ca = await newCa('kubernetes');
  file('ca.crt', ca.cert);
  const serving = await signLeaf(ca, {
    cn: 'kube-apiserver',
    sans: ['127.0.0.1', 'localhost'],
    usage: 'server',
  });
  file('apiserver.crt', serving.cert);
  file('apiserver.key', serving.key);
  admin = await signLeaf(ca, { cn: 'kubernetes-admin', org: 'system:masters', usage: 'client' });
  file('admin.crt', admin.cert);
  file('admin.key', admin.key);
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  file('sa.pub', sa.publicKey);
  file('sa.key', sa.privateKey);
  binary = await writeKubeApiserverStandIn(join(dir, 'bin'), 'v1.29.3');
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kube-apiserver stand-in', () => {
  test('refuses what kube-apiserver refuses', async () => {
    const unknown = await runOnce(['--etcd-servers=https://127.0.0.1:1', '--no-such-flag']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'Error: unknown flag: --no-such-flag\n');
    const missing = await runOnce(['--secure-port=6443']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /"command failed" err="\[--etcd-servers must be specified, service-account-issuer/,
    );
    const noFile = await runOnce(
      manifestFlags(1).map((f) =>
        f.startsWith('--tls-cert-file') ? '--tls-cert-file=/nonexistent/x.crt' : f,
      ),
    );
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /open \/nonexistent\/x\.crt: no such file or directory/);
  });

  test('two API servers on one etcd: health, kubectl, shared objects, bootstrap tokens', async () => {
    const one = await startApiserver();
    const two = await startApiserver();
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const r = await callHttps(`${one}${path}`, { ca: ca.cert });
      assert.deepEqual([r.status, r.text], [200, 'ok'], path);
    }
    assert.match(await kubectl(one, 'get', 'namespaces', '-o', 'name'), /namespace\/kube-system/);
    assert.match(
      await kubectl(one, 'get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'),
      /^10\.96\.0\.1$/,
    );
    await kubectl(one, 'create', 'configmap', 'from-one', '--from-literal=k=v');
    assert.equal(await kubectl(two, 'get', 'configmap', 'from-one', '-o', 'jsonpath={.data.k}'), 'v');

    // A bootstrap token authenticates only while its Secret holds it and it has not expired.
    const future = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    file('token.json', tokenSecret('abcdef', '0123456789abcdef', future));
    file('expired.json', tokenSecret('zyxwvu', '0123456789abcdef', '2020-01-01T00:00:00Z'));
    await kubectl(one, 'apply', '-f', join(dir, 'token.json'), '-f', join(dir, 'expired.json'));
    const asToken = (url: string, token: string, path: string) =>
      callHttps(`${url}${path}`, { ca: ca.cert, headers: { Authorization: `Bearer ${token}` } });
    const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
    const denied = await asToken(two, 'abcdef.0123456789abcdef', csrs);
    assert.equal(denied.status, 403, denied.text);
    assert.match(denied.text, /User \\"system:bootstrap:abcdef\\" cannot list resource/);
    assert.equal((await asToken(two, 'abcdef.0000000000000000', csrs)).status, 401);
    assert.equal((await asToken(two, 'zyxwvu.0123456789abcdef', csrs)).status, 401);
    await kubectl(
      one,
      'create',
      'clusterrolebinding',
      'kubeadm:kubelet-bootstrap',
      '--clusterrole=system:node-bootstrapper',
      '--group=system:bootstrappers:kubeadm:default-node-token',
    );
    let allowed = 0;
    for (let i = 0; i < 150 && allowed !== 200; i++) {
      allowed = (await asToken(two, 'abcdef.0123456789abcdef', csrs)).status;
      if (allowed !== 200) await sleep(100);
    }
    assert.equal(allowed, 200);
    assert.equal((await asToken(two, 'abcdef.0123456789abcdef', '/api/v1/secrets')).status, 403);

    // A client certificate from another CA is refused.
    const other = await newCa('other');
    const stranger = await signLeaf(other, {
      cn: 'kubernetes-admin',
      org: 'system:masters',
      usage: 'client',
    });
    const r = await callHttps(`${one}/api/v1/namespaces`, { ca: ca.cert, clientCert: stranger });
    assert.equal(r.status, 401);
  });
});

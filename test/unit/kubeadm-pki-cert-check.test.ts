import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { daysLeft, expiringWithin, expiryWarning } from '../../src/apply/certificate-expiry.js';
import { certificateListScript, parseCertificateListing } from '../../src/apply/master-certificates.js';
import { clusterFromRunArgs, stringifyClusterfile } from '../../src/clusterfile/index.js';
import { makeClusterCas, masterKubeconfigs, masterPkiFiles } from '../../src/runtime/kubeadm/pki/index.js';
import { sh } from '../helpers/run-local.js';

const day = 86_400_000;
const now = new Date('2026-06-01T00:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * day);

test('status warns for certificates expiring within 30 days or expired, soonest first', () => {
  const certs = [
    { path: 'a', notAfter: at(365) },
    { path: 'b', notAfter: at(29.9) },
    { path: 'c', notAfter: at(-2) },
    { path: 'd', notAfter: at(30) },
    { path: 'e', notAfter: at(31) },
  ];
  assert.deepEqual(
    expiringWithin(certs, now).map((c) => c.path),
    ['c', 'b'],
  );
  assert.deepEqual(
    expiringWithin(certs, now, 40).map((c) => c.path),
    ['c', 'b', 'd', 'e'],
  );
  assert.equal(daysLeft(at(29.9), now), 29);
  assert.equal(daysLeft(at(-2), now), -2);
  assert.equal(
    expiryWarning({ host: '10.0.0.1', path: '/p/a.crt', subject: 'CN=x', notAfter: at(29.9), daysLeft: 29 }),
    'certificate 10.0.0.1:/p/a.crt (CN=x) expires in 29 day(s), on 2026-06-30T21:36:00.000Z: renew it',
  );
  assert.match(
    expiryWarning({
      host: 'h',
      path: '/p/b.crt',
      position: 2,
      subject: 'CN=y',
      notAfter: at(-2),
      daysLeft: -2,
    }),
    /^certificate h:\/p\/b\.crt#2 \(CN=y\) expired 2 day\(s\) ago, on /,
  );
});

test("the listing script prints every *.crt of the driver's dirs and kubeconfigs' embedded certificates, parsed back", async () => {
  const cas = await makeClusterCas(now, 'ECDSA-P256');
  const files = await masterPkiFiles(
    cas,
    {
      endpoint: 'apiserver.cluster.local',
      vip: '10.103.97.2',
      apiServiceIp: '10.96.0.1',
      dnsDomain: 'cluster.local',
      certSANs: [],
      masters: [{ ip: '10.0.0.1', hostname: 'm0' }],
    },
    { ip: '10.0.0.1', hostname: 'm0' },
    now,
  );
  const dir = await mkdtemp(join(tmpdir(), 'berth-cert-list-'));
  try {
    await mkdir(join(dir, 'pki', 'etcd'), { recursive: true });
    await mkdir(join(dir, 'pki', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'pki', 'apiserver.crt'), files['apiserver.crt'] ?? '');
    await writeFile(join(dir, 'pki', 'apiserver.key'), files['apiserver.key'] ?? '');
    await writeFile(
      join(dir, 'pki', 'bundle.crt'),
      `${files['front-proxy-client.crt']}${files['front-proxy-ca.crt']}`,
    );
    await writeFile(join(dir, 'pki', 'broken.crt'), 'not a certificate\n');
    await writeFile(join(dir, 'pki', 'deeper', 'ca.crt'), files['ca.crt'] ?? '');
    await writeFile(join(dir, 'pki', 'etcd', 'server.crt'), files['etcd/server.crt'] ?? '');
    const dirs = [join(dir, 'pki'), join(dir, 'pki', 'etcd'), join(dir, 'missing')];
    const kubeconfigs = await masterKubeconfigs(cas, {
      clusterName: 'kubernetes',
      server: 'https://apiserver.cluster.local:6443',
      nodeName: 'm0',
      kubeMinor: 28,
    });
    await writeFile(join(dir, 'admin.conf'), kubeconfigs['admin.conf'] ?? '');
    // a kubeconfig naming its certificate by path has nothing embedded to list
    await writeFile(
      join(dir, 'kubelet.conf'),
      'users:\n- user:\n    client-certificate: /var/lib/kubelet/pki/x.pem\n',
    );
    const kubeconfigPaths = ['admin.conf', 'kubelet.conf', 'absent.conf'].map((f) => join(dir, f));
    const out = sh(certificateListScript(dirs, kubeconfigPaths));
    const r = parseCertificateListing('10.0.0.1', out, now);
    const seen = r.certificates.map(
      (c) => `${c.path.slice(dir.length)}${c.position ? `#${c.position}` : ''} ${c.subject}`,
    );
    assert.deepEqual(seen, [
      '/pki/apiserver.crt CN=kube-apiserver',
      '/pki/bundle.crt#1 CN=front-proxy-client',
      '/pki/bundle.crt#2 CN=front-proxy-ca',
      '/pki/etcd/server.crt CN=m0',
      '/admin.conf O=system:masters, CN=kubernetes-admin',
    ]);
    assert.deepEqual(r.unreadable, [
      { host: '10.0.0.1', path: join(dir, 'pki', 'broken.crt'), error: 'no PEM certificate in it' },
    ]);
    const api = r.certificates[0];
    assert.equal(api?.host, '10.0.0.1');
    assert.equal(api?.daysLeft, 365);
    assert.ok(api?.dnsNames.includes('apiserver.cluster.local'));
    assert.deepEqual(r.certificates[3]?.ipAddresses, ['10.0.0.1', '127.0.0.1', '::1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cert check of an unknown cluster exits 9; an unreachable master exits 5 and only warns in status', async () => {
  const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
  const home = await mkdtemp(join(tmpdir(), 'berth-cert-home-'));
  try {
    const berth = (...args: string[]) =>
      spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, BERTH_HOME: home }, timeout: 60_000 });
    const unknown = berth('cert', 'check', '--cluster', 'nope');
    assert.equal(unknown.status, 9);
    assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
    // a k3s cluster as an apply records it, whose only master listens on no SSH port
    const cluster = clusterFromRunArgs({ images: ['x/k3s:1'], masters: '127.0.0.1', port: 1, cluster: 'c1' });
    cluster.status = {
      phase: 'ClusterSuccess',
      mounts: [{ type: 'rootfs', labels: { 'sealos.io.distribution': 'k3s' } }],
    };
    await mkdir(join(home, 'c1'), { recursive: true });
    await writeFile(join(home, 'c1', 'Clusterfile'), stringifyClusterfile(cluster));
    const check = berth('cert', 'check', '--cluster', 'c1', '--json');
    assert.equal(check.status, 5, check.stderr);
    assert.match(check.stderr, /^berth: 127\.0\.0\.1(:1)?: .+\n$/);
    const json = JSON.parse(check.stdout) as { certificates: unknown[]; failed: Array<{ host: string }> };
    assert.deepEqual(json.certificates, []);
    assert.deepEqual(
      json.failed.map((f) => f.host),
      ['127.0.0.1'],
    );
    const status = berth('status', '--cluster', 'c1');
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stderr, /^warning: certificates not checked: 127\.0\.0\.1(:1)?: /m);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

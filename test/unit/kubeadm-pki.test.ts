import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { parse } from 'yaml';
import {
  type ClusterCas,
  caCertHash,
  describeCertificate,
  makeClusterCas,
  masterKubeconfigs,
  masterPkiFiles,
  newBootstrapToken,
  type PkiNames,
} from '../../src/runtime/kubeadm/pki/index.js';

// The certificates are checked with the real openssl binary, as an administrator would check them.
// RSA 2048 keys take about half a second each here, so one cluster's files are made once and shared, and
// the kubeconfig checks, which do not depend on the kind of key, use ECDSA CAs.

const now = new Date('2026-03-01T10:00:00Z');
const names: PkiNames = {
  endpoint: 'apiserver.cluster.local',
  vip: '10.103.97.2',
  apiServiceIp: '10.96.0.1',
  dnsDomain: 'cluster.example',
  certSANs: ['api.example.com', '203.0.113.7'],
  masters: [
    { ip: '10.0.0.11', hostname: 'm0' },
    { ip: '10.0.0.12', hostname: 'm1' },
  ],
};
const m0 = names.masters[0] as { ip: string; hostname: string };

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function writeTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-test-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

let made: Promise<{ dir: string; files: Record<string, string> }> | undefined;
function rsaCluster() {
  made ??= (async () => {
    const files = await masterPkiFiles(await makeClusterCas(now), names, m0, now);
    return { dir: await writeTree(files), files };
  })();
  return made;
}

/** CAs with ECDSA keys (kubeadm's ECDSA-P256): for what does not depend on the key kind, in a blink. */
let ecMade: Promise<ClusterCas> | undefined;
const ecCas = () => {
  ecMade ??= makeClusterCas(now, 'ECDSA-P256');
  return ecMade;
};

const openssl = (args: string[], input?: string) =>
  execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const text = (dir: string, rel: string) => openssl(['x509', '-in', join(dir, rel), '-noout', '-text']);
const field = (out: string, heading: string) => {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.includes(heading));
  return i < 0 ? undefined : lines[i + 1]?.trim();
};
const dates = (dir: string, rel: string) => {
  const out = openssl(['x509', '-in', join(dir, rel), '-noout', '-startdate', '-enddate']);
  const get = (k: string) => new Date(out.match(new RegExp(`${k}=(.*)`))?.[1] ?? '');
  return { start: get('notBefore'), end: get('notAfter') };
};
const hours = (ms: number) => Math.round(ms / 3_600_000);

test('every file kubeadm keeps under /etc/kubernetes/pki is there, keys in kubeadm PEM forms', async () => {
  const { files } = await rsaCluster();
  const expected = [
    'ca',
    'apiserver',
    'apiserver-kubelet-client',
    'front-proxy-ca',
    'front-proxy-client',
    'apiserver-etcd-client',
    'etcd/ca',
    'etcd/server',
    'etcd/peer',
    'etcd/healthcheck-client',
  ].flatMap((b) => [`${b}.crt`, `${b}.key`]);
  assert.deepEqual(Object.keys(files).sort(), [...expected, 'sa.key', 'sa.pub'].sort());
  assert.match(files['ca.key'] ?? '', /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.match(files['sa.pub'] ?? '', /^-----BEGIN PUBLIC KEY-----/);
  const saPub = openssl(['pkey', '-pubout'], files['sa.key']);
  assert.equal(saPub, files['sa.pub']);
  assert.match(openssl(['pkey', '-noout', '-text'], files['sa.key']), /Private-Key: \(2048 bit/);
});

test('the three CAs are self-signed, CA:TRUE, may sign certificates and last ten years', async () => {
  const { dir } = await rsaCluster();
  for (const [rel, cn] of [
    ['ca.crt', 'kubernetes'],
    ['front-proxy-ca.crt', 'front-proxy-ca'],
    ['etcd/ca.crt', 'etcd-ca'],
  ] as const) {
    const out = text(dir, rel);
    assert.match(out, new RegExp(`Subject: CN = ${cn}\\n`), rel);
    assert.match(out, new RegExp(`Issuer: CN = ${cn}\\n`), rel);
    assert.match(out, /Basic Constraints: critical\n\s+CA:TRUE/, rel);
    assert.equal(
      field(out, 'X509v3 Key Usage: critical'),
      'Digital Signature, Key Encipherment, Certificate Sign',
    );
    assert.match(out, /Public-Key: \(2048 bit\)/);
    assert.match(out, /Signature Algorithm: sha256WithRSAEncryption/);
    openssl(['verify', '-attime', String(now.getTime() / 1000), '-CAfile', join(dir, rel), join(dir, rel)]);
    const { start, end } = dates(dir, rel);
    assert.ok(
      start <= now && now.getTime() - start.getTime() <= 10 * 60_000,
      `${rel} starts just before now`,
    );
    assert.equal(hours(end.getTime() - now.getTime()), 87_600, rel);
  }
});

const leaves = [
  {
    rel: 'apiserver.crt',
    ca: 'ca.crt',
    subject: 'CN = kube-apiserver',
    eku: 'TLS Web Server Authentication',
  },
  {
    rel: 'apiserver-kubelet-client.crt',
    ca: 'ca.crt',
    subject: 'O = kubeadm:cluster-admins, CN = kube-apiserver-kubelet-client',
    eku: 'TLS Web Client Authentication',
  },
  {
    rel: 'front-proxy-client.crt',
    ca: 'front-proxy-ca.crt',
    subject: 'CN = front-proxy-client',
    eku: 'TLS Web Client Authentication',
  },
  {
    rel: 'etcd/server.crt',
    ca: 'etcd/ca.crt',
    subject: 'CN = m0',
    eku: 'TLS Web Server Authentication, TLS Web Client Authentication',
  },
  {
    rel: 'etcd/peer.crt',
    ca: 'etcd/ca.crt',
    subject: 'CN = m0',
    eku: 'TLS Web Server Authentication, TLS Web Client Authentication',
  },
  {
    rel: 'etcd/healthcheck-client.crt',
    ca: 'etcd/ca.crt',
    subject: 'CN = kube-etcd-healthcheck-client',
    eku: 'TLS Web Client Authentication',
  },
  {
    rel: 'apiserver-etcd-client.crt',
    ca: 'etcd/ca.crt',
    subject: 'CN = kube-apiserver-etcd-client',
    eku: 'TLS Web Client Authentication',
  },
];

test("each leaf chains to its own CA only, with kubeadm's subject, usages, CA:FALSE and one year", async () => {
  const { dir } = await rsaCluster();
  const at = String(now.getTime() / 1000);
  for (const l of leaves) {
    const out = text(dir, l.rel);
    assert.match(out, new RegExp(`Subject: ${l.subject}\\n`), l.rel);
    assert.equal(field(out, 'X509v3 Key Usage: critical'), 'Digital Signature, Key Encipherment', l.rel);
    assert.equal(field(out, 'X509v3 Extended Key Usage'), l.eku, l.rel);
    assert.match(out, /Basic Constraints: critical\n\s+CA:FALSE/, l.rel);
    assert.equal(
      openssl(['verify', '-attime', at, '-CAfile', join(dir, l.ca), join(dir, l.rel)]).trim(),
      `${join(dir, l.rel)}: OK`,
    );
    const other = l.ca === 'ca.crt' ? 'etcd/ca.crt' : 'ca.crt';
    assert.throws(
      () => openssl(['verify', '-attime', at, '-CAfile', join(dir, other), join(dir, l.rel)]),
      l.rel,
    );
    assert.equal(hours(dates(dir, l.rel).end.getTime() - now.getTime()), 8_760, l.rel);
    const certKey = openssl(['x509', '-in', join(dir, l.rel), '-noout', '-pubkey']);
    const keyPub = openssl(['pkey', '-in', join(dir, l.rel.replace(/\.crt$/, '.key')), '-pubout']);
    assert.equal(certKey, keyPub, `${l.rel} matches its key`);
  }
});

test("the API server's SANs cover the names and addresses every client dials", async () => {
  const { dir } = await rsaCluster();
  const san = field(text(dir, 'apiserver.crt'), 'Subject Alternative Name') ?? '';
  const got = new Set(san.split(', '));
  for (const dns of [
    'm0',
    'm1',
    'localhost',
    'apiserver.cluster.local',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.example',
    'api.example.com',
  ])
    assert.ok(got.has(`DNS:${dns}`), `DNS:${dns} in ${san}`);
  for (const ip of ['127.0.0.1', '10.103.97.2', '10.0.0.11', '10.0.0.12', '10.96.0.1', '203.0.113.7'])
    assert.ok(got.has(`IP Address:${ip}`), `IP ${ip} in ${san}`);
  assert.equal(got.size, 15, 'no name twice');
});

test("etcd's server and peer SANs are kubeadm's: node name, localhost, its address and the loopbacks", async () => {
  const { dir } = await rsaCluster();
  for (const rel of ['etcd/server.crt', 'etcd/peer.crt'])
    assert.equal(
      field(text(dir, rel), 'Subject Alternative Name'),
      'DNS:m0, DNS:localhost, IP Address:10.0.0.11, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
  assert.equal(field(text(dir, 'front-proxy-client.crt'), 'Subject Alternative Name'), undefined);
});

test('caCertHash is the sha256 of the CA public key that openssl extracts', async () => {
  const { dir, files } = await rsaCluster();
  const der = execFileSync('sh', [
    '-c',
    `openssl x509 -in '${join(dir, 'ca.crt')}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`,
  ])
    .toString()
    .split(' ')[0];
  assert.equal(caCertHash(files['ca.crt'] ?? ''), `sha256:${der}`);
});

test("kubeconfigs carry client certificates from the cluster CA with kubeadm's users and groups", async () => {
  const cas = await ecCas();
  const kubeconfigs = await masterKubeconfigs(
    cas,
    {
      clusterName: 'kubernetes',
      server: 'https://apiserver.cluster.local:6443',
      localServer: 'https://10.0.0.11:6443',
      nodeName: 'm0',
      kubeMinor: 29,
    },
    now,
  );
  const dir = await writeTree({ 'ca.crt': cas.ca.cert });
  const want: Record<string, string> = {
    'admin.conf': 'O = kubeadm:cluster-admins, CN = kubernetes-admin',
    'super-admin.conf': 'O = system:masters, CN = kubernetes-super-admin',
    'controller-manager.conf': 'CN = system:kube-controller-manager',
    'scheduler.conf': 'CN = system:kube-scheduler',
  };
  assert.deepEqual(Object.keys(kubeconfigs).sort(), Object.keys(want).sort());
  for (const [file, subject] of Object.entries(want)) {
    const k = parse(kubeconfigs[file] ?? '');
    const cluster = k.clusters[0].cluster;
    const local = file === 'controller-manager.conf' || file === 'scheduler.conf';
    assert.equal(
      cluster.server,
      local ? 'https://10.0.0.11:6443' : 'https://apiserver.cluster.local:6443',
      file,
    );
    assert.equal(Buffer.from(cluster['certificate-authority-data'], 'base64').toString(), cas.ca.cert);
    const user = k.users[0];
    assert.equal(k['current-context'], `${user.name}@kubernetes`);
    const certFile = join(dir, `${file}.crt`);
    await writeFile(certFile, Buffer.from(user.user['client-certificate-data'], 'base64'));
    await writeFile(join(dir, `${file}.key`), Buffer.from(user.user['client-key-data'], 'base64'));
    const out = text(dir, `${file}.crt`);
    assert.match(out, new RegExp(`Subject: ${subject}\\n`), file);
    assert.equal(field(out, 'X509v3 Extended Key Usage'), 'TLS Web Client Authentication', file);
    openssl(['verify', '-attime', String(now.getTime() / 1000), '-CAfile', join(dir, 'ca.crt'), certFile]);
    assert.equal(
      openssl(['x509', '-in', certFile, '-noout', '-pubkey']),
      openssl(['pkey', '-in', join(dir, `${file}.key`), '-pubout']),
    );
  }
});

test('before 1.29: no super-admin.conf, admin and kubelet client in system:masters; ECDSA-P256 keys', async () => {
  const cas = await ecCas();
  const [files, kubeconfigs] = await Promise.all([
    masterPkiFiles(cas, { ...names, kubeMinor: 28 }, m0, now),
    masterKubeconfigs(cas, {
      clusterName: 'c',
      server: 'https://10.0.0.11:6443',
      nodeName: 'm0',
      kubeMinor: 28,
    }),
  ]);
  assert.deepEqual(Object.keys(kubeconfigs).sort(), [
    'admin.conf',
    'controller-manager.conf',
    'scheduler.conf',
  ]);
  const admin = parse(kubeconfigs['admin.conf'] ?? '');
  const adminCert = Buffer.from(admin.users[0].user['client-certificate-data'], 'base64').toString();
  assert.equal(describeCertificate(adminCert).subject, 'O=system:masters, CN=kubernetes-admin');
  const dir = await writeTree(files);
  const out = text(dir, 'apiserver-kubelet-client.crt');
  assert.match(out, /Subject: O = system:masters, CN = kube-apiserver-kubelet-client\n/);
  assert.match(out, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  assert.equal(field(out, 'X509v3 Key Usage: critical'), 'Digital Signature');
  assert.match(files['etcd/ca.key'] ?? '', /^-----BEGIN EC PRIVATE KEY-----/);
  assert.match(files['sa.key'] ?? '', /^-----BEGIN RSA PRIVATE KEY-----/);
  openssl([
    'verify',
    '-attime',
    String(now.getTime() / 1000),
    '-CAfile',
    join(dir, 'ca.crt'),
    join(dir, 'apiserver.crt'),
  ]);
});

test('describeCertificate reads back what openssl shows', async () => {
  const { files } = await rsaCluster();
  const ca = describeCertificate(files['ca.crt'] ?? '');
  assert.equal(ca.isCa, true);
  assert.deepEqual(ca.keyUsages, ['digitalSignature', 'keyEncipherment', 'keyCertSign']);
  const api = describeCertificate(files['apiserver.crt'] ?? '');
  assert.equal(api.subject, 'CN=kube-apiserver');
  assert.equal(api.issuer, 'CN=kubernetes');
  assert.equal(api.isCa, false);
  assert.deepEqual(api.extKeyUsages, ['serverAuth']);
  assert.ok(api.dnsNames.includes('kubernetes.default.svc.cluster.example'));
  assert.ok(api.ipAddresses.includes('10.96.0.1'));
  assert.equal(hours(api.notAfter.getTime() - now.getTime()), 8_760);
});

test('bootstrap tokens have the form kubeadm accepts and are not repeated', () => {
  const tokens = new Set(Array.from({ length: 50 }, newBootstrapToken));
  assert.equal(tokens.size, 50);
  for (const t of tokens) assert.match(t, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
});

test("a TLS client trusting ca.crt accepts the API server under each of its names; it takes the CA's clients only", async () => {
  const { files } = await rsaCluster();
  const server = createServer({
    cert: files['apiserver.crt'],
    key: files['apiserver.key'],
    ca: files['ca.crt'],
    requestCert: true,
    rejectUnauthorized: false,
  });
  const authorized: boolean[] = [];
  server.on('secureConnection', (s) => {
    authorized.push(s.authorized);
    s.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dial = (servername: string, client: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({
        host: '127.0.0.1',
        port,
        servername,
        ca: files['ca.crt'],
        cert: files[`${client}.crt`],
        key: files[`${client}.key`],
      });
      s.on('secureConnect', () => {
        const peer = s.getPeerX509Certificate();
        s.setEncoding('utf8');
        s.on('data', () => {
          s.destroy();
          resolve(peer?.subject ?? '');
        });
      });
      s.on('error', reject);
    });
  try {
    for (const name of [
      'apiserver.cluster.local',
      'kubernetes.default.svc.cluster.example',
      'm1',
      'localhost',
    ])
      assert.equal(await dial(name, 'apiserver-kubelet-client'), 'CN=kube-apiserver', name);
    const cert = new X509Certificate(files['apiserver.crt'] ?? '');
    for (const ip of ['127.0.0.1', '10.103.97.2', '10.0.0.12', '10.96.0.1', '203.0.113.7'])
      assert.equal(cert.checkIP(ip), ip);
    assert.equal(cert.checkHost('other.example'), undefined);
    await dial('apiserver.cluster.local', 'front-proxy-client');
    assert.deepEqual(
      authorized,
      [true, true, true, true, false],
      'a client of the front-proxy CA is not authorized',
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

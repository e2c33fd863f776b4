// The controller's certificates under <data-dir>/pki, named as k0s names them: the cluster CA, the service
// account key pair and the etcd CA (copied from the first controller on a join), then this node's own
// leaves (API server with spec.api.sans, etcd server and peer, etcd client, k0s API) and the kubeconfigs of
// the admin and the control-plane components, pointing at https://localhost:<api.port>.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertPair, newCa, signLeaf } from '../k3s/openssl-pki.js';
import { toYaml } from '../kubeadm/yaml-write.js';
import type { ClusterSettings } from './cluster-config.js';
import type { K0sPaths } from './k0s-paths.js';

/** The files a joining controller takes over from the one it joins (k0s's /v1beta1/ca answer). */
export const SHARED_PKI_FILES = ['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'etcd/ca.crt', 'etcd/ca.key'];

const write = (path: string, content: string, mode = 0o640) => writeFileSync(path, content, { mode });
const read = (path: string) => readFileSync(path, 'utf8');

async function ensureCa(dir: string, name: string, cn: string): Promise<CertPair> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert) || !existsSync(key)) {
    const pair = await newCa(cn);
    write(key, pair.key, 0o600);
    write(cert, pair.cert, 0o644);
  }
  return { cert: read(cert), key: read(key) };
}

async function ensureLeaf(
  dir: string,
  name: string,
  ca: CertPair,
  spec: Parameters<typeof signLeaf>[1],
): Promise<CertPair> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert) || !existsSync(key)) {
    const pair = await signLeaf(ca, spec);
    write(key, pair.key, 0o600);
    write(cert, pair.cert, 0o644);
  }
  return { cert: read(cert), key: read(key) };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig as k0s writes admin.conf: cluster `local`, user `user`, context `Default`. */
export function k0sKubeconfig(server: string, caPem: string, client: CertPair): string {
  return toYaml({
    apiVersion: 'v1',
    clusters: [{ cluster: { server, 'certificate-authority-data': b64(caPem) }, name: 'local' }],
    contexts: [{ context: { cluster: 'local', namespace: 'default', user: 'user' }, name: 'Default' }],
    'current-context': 'Default',
    kind: 'Config',
    preferences: {},
    users: [
      {
        name: 'user',
        user: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) },
      },
    ],
  });
}

/** The API server certificate's names: the service names, its first service IP, loopback and the SANs. */
export function apiServerSans(c: ClusterSettings, hostname: string): string[] {
  const [net] = c.serviceCIDR.split('/');
  const parts = net.split('.').map(Number);
  parts[3] += 1;
  const domain = c.clusterDomain;
  return [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${domain}`,
    'localhost',
    '127.0.0.1',
    hostname,
    parts.join('.'),
    c.address,
    ...(c.externalAddress ? [c.externalAddress] : []),
    ...c.sans,
  ];
}

/** Creates what is missing; a joining controller has its shared files in place before. */
export async function ensureControllerPki(p: K0sPaths, c: ClusterSettings, hostname: string): Promise<void> {
  mkdirSync(p.etcdPki, { recursive: true, mode: 0o751 });
  const ca = await ensureCa(p.pki, 'ca', 'kubernetes-ca');
  const etcdCa = await ensureCa(p.etcdPki, 'ca', 'etcd-ca');
  if (!existsSync(join(p.pki, 'sa.key'))) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    write(join(p.pki, 'sa.key'), privateKey, 0o600);
    write(join(p.pki, 'sa.pub'), publicKey, 0o644);
  }
  const sans = apiServerSans(c, hostname);
  await ensureLeaf(p.pki, 'server', ca, { cn: 'kube-apiserver', sans, usage: 'server' });
  await ensureLeaf(p.pki, 'k0s-api', ca, { cn: 'k0s-api', sans, usage: 'server' });
  await ensureLeaf(p.pki, 'apiserver-kubelet-client', ca, {
    cn: 'apiserver-kubelet-client',
    org: 'system:masters',
    usage: 'client',
  });
  const etcdNames = ['localhost', '127.0.0.1', hostname, c.address, c.peerAddress];
  await ensureLeaf(p.etcdPki, 'server', etcdCa, { cn: 'etcd-server', sans: etcdNames, usage: 'both' });
  await ensureLeaf(p.etcdPki, 'peer', etcdCa, { cn: 'etcd-peer', sans: etcdNames, usage: 'both' });
  await ensureLeaf(p.pki, 'apiserver-etcd-client', etcdCa, { cn: 'apiserver-etcd-client', usage: 'client' });
  const server = `https://localhost:${c.port}`;
  const kubeconfigs: [string, string, string, string?][] = [
    [p.adminConf, 'admin', 'kubernetes-admin', 'system:masters'],
    [p.ccmConf, 'ccm', 'system:kube-controller-manager'],
    [p.schedulerConf, 'scheduler', 'system:kube-scheduler'],
    [p.konnectivityConf, 'konnectivity', 'system:konnectivity-server'],
  ];
  for (const [file, name, cn, org] of kubeconfigs) {
    if (existsSync(file)) continue;
    const client = await ensureLeaf(p.pki, name, ca, { cn, ...(org ? { org } : {}), usage: 'client' });
    write(file, k0sKubeconfig(server, ca.cert, client), 0o600);
  }
}

/** The shared files as the k0s API hands them to a joining controller (base64 by relative path). */
export function sharedPki(p: K0sPaths): Record<string, string> {
  return Object.fromEntries(SHARED_PKI_FILES.map((f) => [f, b64(read(join(p.pki, f)))]));
}

export function writeSharedPki(p: K0sPaths, files: Record<string, string>): void {
  mkdirSync(p.etcdPki, { recursive: true, mode: 0o751 });
  for (const f of SHARED_PKI_FILES) {
    if (typeof files[f] !== 'string') throw new Error(`the k0s API's answer lacks ${f}`);
    write(
      join(p.pki, f),
      Buffer.from(files[f], 'base64').toString('utf8'),
      f.endsWith('.key') ? 0o600 : 0o644,
    );
  }
}

// kubeadm's certs and kubeconfig phases: every file under the cert dir and every kubeconfig that is missing
// is made (existing ones, such as those berth uploads, are used as they are), with kubeadm's subjects, SANs
// and file names. Keys are ECDSA P-256 from the k3s stand-in's openssl helper, where kubeadm uses RSA 2048.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CertPair, type LeafSpec, newCa, signLeaf } from '../k3s/openssl-pki.js';
import { kubeconfigYaml } from './kubeconfig.js';

export interface PkiNames {
  nodeName: string;
  advertiseAddress: string;
  apiServiceIp: string;
  dnsDomain: string;
  controlPlaneEndpointHost?: string;
  certSANs: string[];
  etcdServerSANs: string[];
  etcdPeerSANs: string[];
}

export type PkiLog = (line: string) => void;

function readPair(dir: string, base: string): CertPair | undefined {
  const crt = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  if (!existsSync(crt) || !existsSync(key)) return undefined;
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

function writePair(dir: string, base: string, pair: CertPair): void {
  mkdirSync(dirname(join(dir, `${base}.crt`)), { recursive: true });
  writeFileSync(join(dir, `${base}.crt`), pair.cert, { mode: 0o644 });
  writeFileSync(join(dir, `${base}.key`), pair.key, { mode: 0o600 });
}

async function ensureCa(dir: string, base: string, cn: string, log: PkiLog): Promise<CertPair> {
  const have = readPair(dir, base);
  if (have) {
    log(`[certs] Using existing ${base} certificate authority`);
    return have;
  }
  if (existsSync(join(dir, `${base}.crt`)))
    throw new Error(
      `failure loading ${base} certificate authority: couldn't load the private key file ${join(dir, `${base}.key`)}`,
    );
  const ca = await newCa(cn);
  writePair(dir, base, ca);
  log(`[certs] Generating "${base}" certificate and key`);
  return ca;
}

async function ensureLeaf(
  dir: string,
  base: string,
  ca: CertPair,
  spec: LeafSpec,
  log: PkiLog,
): Promise<void> {
  if (readPair(dir, base)) {
    log(`[certs] Using existing ${base} certificate and key on disk`);
    return;
  }
  const pair = await signLeaf(ca, spec);
  writePair(dir, base, pair);
  log(`[certs] Generating "${base}" certificate and key`);
  if (spec.sans?.length)
    log(`[certs] ${base} serving cert is signed for DNS names and IPs [${spec.sans.join(' ')}]`);
}

/** The admin group: system:masters before 1.29, kubeadm:cluster-admins (bound by RBAC) from 1.29. */
export const adminGroup = (minor: number) => (minor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters');

/** Every certificate and key a control-plane node keeps in `dir` (the cert dir). */
export async function ensureControlPlanePki(
  dir: string,
  n: PkiNames,
  minor: number,
  log: PkiLog,
): Promise<void> {
  mkdirSync(join(dir, 'etcd'), { recursive: true });
  const ca = await ensureCa(dir, 'ca', 'kubernetes', log);
  const apiserverSans = [
    n.nodeName,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${n.dnsDomain}`,
    n.apiServiceIp,
    n.advertiseAddress,
    ...(n.controlPlaneEndpointHost ? [n.controlPlaneEndpointHost] : []),
    ...n.certSANs,
  ];
  await ensureLeaf(dir, 'apiserver', ca, { cn: 'kube-apiserver', sans: apiserverSans, usage: 'server' }, log);
  await ensureLeaf(
    dir,
    'apiserver-kubelet-client',
    ca,
    { cn: 'kube-apiserver-kubelet-client', org: adminGroup(minor), usage: 'client' },
    log,
  );
  const fp = await ensureCa(dir, 'front-proxy-ca', 'front-proxy-ca', log);
  await ensureLeaf(dir, 'front-proxy-client', fp, { cn: 'front-proxy-client', usage: 'client' }, log);
  const etcdCa = await ensureCa(dir, 'etcd/ca', 'etcd-ca', log);
  const local = [n.nodeName, 'localhost', n.advertiseAddress, '127.0.0.1', '::1'];
  await ensureLeaf(
    dir,
    'etcd/server',
    etcdCa,
    { cn: n.nodeName, sans: [...local, ...n.etcdServerSANs], usage: 'both' },
    log,
  );
  await ensureLeaf(
    dir,
    'etcd/peer',
    etcdCa,
    { cn: n.nodeName, sans: [...local, ...n.etcdPeerSANs], usage: 'both' },
    log,
  );
  await ensureLeaf(
    dir,
    'etcd/healthcheck-client',
    etcdCa,
    { cn: 'kube-etcd-healthcheck-client', usage: 'client' },
    log,
  );
  await ensureLeaf(
    dir,
    'apiserver-etcd-client',
    etcdCa,
    { cn: 'kube-apiserver-etcd-client', usage: 'client' },
    log,
  );
  if (existsSync(join(dir, 'sa.key')) && existsSync(join(dir, 'sa.pub'))) {
    log('[certs] Using the existing "sa" key');
  } else {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.key'), privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey, { mode: 0o644 });
    log('[certs] Generating "sa" key and public key');
  }
}

export interface KubeconfigTarget {
  path: string;
  user: string;
  org?: string;
  server: string;
}

/** Writes each missing kubeconfig with a client certificate signed by the cluster CA in `certDir`. */
export async function ensureKubeconfigs(
  certDir: string,
  clusterName: string,
  targets: KubeconfigTarget[],
  log: PkiLog,
): Promise<void> {
  const ca = readPair(certDir, 'ca');
  if (!ca) throw new Error(`couldn't load the certificate authority in ${certDir}`);
  for (const t of targets) {
    const file = t.path.split('/').pop();
    if (existsSync(t.path)) {
      log(`[kubeconfig] Using existing kubeconfig file: "${t.path}"`);
      continue;
    }
    const client = await signLeaf(ca, { cn: t.user, ...(t.org ? { org: t.org } : {}), usage: 'client' });
    mkdirSync(dirname(t.path), { recursive: true });
    writeFileSync(
      t.path,
      kubeconfigYaml({ clusterName, server: t.server, caPem: ca.cert, user: t.user, clientCert: client }),
      { mode: 0o600 },
    );
    log(`[kubeconfig] Writing "${file}" kubeconfig file`);
  }
}

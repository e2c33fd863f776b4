// The kubeadm-certs Secret: the cluster's CAs and service-account keys, each encrypted with AES-256-GCM under
// the certificate key (64 hex characters), for `join --control-plane --certificate-key` to download.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SECRETS } from './cluster-objects.js';
import { KubeadmError } from './config-load.js';
import { certsReader } from './kubeadm-rbac.js';
import type { KubeClient } from './kubeconfig.js';

/** Secret data key (kubeadm's names) -> file under the cert dir. */
const FILES: Record<string, string> = {
  'ca.crt': 'ca.crt',
  'ca.key': 'ca.key',
  'front-proxy-ca.crt': 'front-proxy-ca.crt',
  'front-proxy-ca.key': 'front-proxy-ca.key',
  'etcd-ca.crt': 'etcd/ca.crt',
  'etcd-ca.key': 'etcd/ca.key',
  'sa.key': 'sa.key',
  'sa.pub': 'sa.pub',
};

export const newCertificateKey = () => randomBytes(32).toString('hex');

function keyBytes(certificateKey: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(certificateKey))
    throw new KubeadmError(
      `error decoding certificate key: encoding/hex: invalid byte in "${certificateKey.slice(0, 8)}..."`,
    );
  return Buffer.from(certificateKey, 'hex');
}

function encrypt(data: Buffer, key: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
}

function decrypt(data: Buffer, key: Buffer): Buffer {
  const nonce = data.subarray(0, 12);
  const tag = data.subarray(data.length - 16);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
}

export async function uploadCerts(
  client: KubeClient,
  certDir: string,
  certificateKey: string,
): Promise<void> {
  const key = keyBytes(certificateKey);
  const data: Record<string, string> = {};
  for (const [name, file] of Object.entries(FILES)) {
    const path = join(certDir, file);
    if (existsSync(path)) data[name] = encrypt(readFileSync(path), key).toString('base64');
  }
  await client.apply(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'kubeadm-certs', namespace: 'kube-system' },
    type: 'Opaque',
    data,
  });
  await certsReader(client);
}

export async function downloadCerts(
  client: KubeClient,
  certDir: string,
  certificateKey: string,
): Promise<void> {
  const key = keyBytes(certificateKey);
  const secret = await client.get(`${SECRETS}/kubeadm-certs`);
  if (!secret)
    throw new KubeadmError(
      'error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
    );
  for (const [name, file] of Object.entries(FILES)) {
    const value = secret.data?.[name];
    if (!value) continue;
    let plain: Buffer;
    try {
      plain = decrypt(Buffer.from(value, 'base64'), key);
    } catch {
      throw new KubeadmError(
        'error downloading certs: error decrypting data: cipher: message authentication failed',
      );
    }
    const path = join(certDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, plain, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
  }
}

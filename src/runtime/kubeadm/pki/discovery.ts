// What a joining host needs to trust the cluster: the CA's discovery hash and a bootstrap token.

import { createHash, randomInt } from 'node:crypto';
import { X509Certificate } from './x509.js';

/** kubeadm's discovery hash: sha256:<hex> of the CA certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.rawData;
  return `sha256:${createHash('sha256').update(Buffer.from(spki)).digest('hex')}`;
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const random = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');

/** A bootstrap token id.secret ([a-z0-9]{6}.[a-z0-9]{16}). */
export function newBootstrapToken(): string {
  return `${random(6)}.${random(16)}`;
}

// Key pairs for the cluster's certificates, made with Node's WebCrypto and written in the PEM forms
// kubeadm writes (PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY", SPKI "PUBLIC KEY"), so that files
// berth puts in /etc/kubernetes/pki look to kubeadm like its own.

import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import type { X509CertificateGenerator } from './x509.js';

/** kubeadm's `encryptionAlgorithm` values berth makes keys for (RSA-2048 is kubeadm's default). */
export type EncryptionAlgorithm = 'RSA-2048' | 'ECDSA-P256';

export type WebCryptoKeyPair = webcrypto.CryptoKeyPair;
export type WebCryptoKey = webcrypto.CryptoKey;

/** Node's WebCrypto, typed as the provider @peculiar/x509 takes. */
export const crypto = webcrypto as unknown as NonNullable<
  Parameters<typeof X509CertificateGenerator.create>[1]
>;

const rsa: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const ecdsa: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** The signature algorithm a key of this kind signs certificates with (SHA-256 as kubeadm). */
export function signingAlgorithm(key: WebCryptoKey): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return key.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : rsa;
}

export function newKeyPair(algorithm: EncryptionAlgorithm = 'RSA-2048'): Promise<WebCryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithm === 'ECDSA-P256' ? ecdsa : rsa, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: WebCryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const k = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return k.export({ format: 'pem', type: k.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs1' }).toString();
}

export async function publicKeyPem(key: WebCryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('spki', key));
  return createPublicKey({ key: der, format: 'der', type: 'spki' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

/** A PEM private key (any of the forms above) back as a WebCrypto signing key. */
export function importSigningKey(pem: string): Promise<WebCryptoKey> {
  const k = createPrivateKey(pem);
  const der = k.export({ format: 'der', type: 'pkcs8' });
  const algorithm = k.asymmetricKeyType === 'ec' ? ecdsa : rsa;
  return webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

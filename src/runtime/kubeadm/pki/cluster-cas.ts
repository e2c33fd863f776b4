// The cluster's three CAs and service-account key pair: made once, in the driver's prepare, and kept
// (encrypted) in the cluster's state so that every master added later gets leaves from the same CAs.

import { makeCa, type Pem } from './certificate.js';
import { type EncryptionAlgorithm, newKeyPair, privateKeyPem, publicKeyPem } from './keys.js';

export interface ClusterCas {
  /** The kubernetes CA (ca.crt/ca.key), 10 years. */
  ca: Pem;
  frontProxyCa: Pem;
  etcdCa: Pem;
  /** sa.pub / sa.key: kubeadm signs service-account tokens with RSA 2048 whatever the algorithm. */
  sa: { publicKey: string; privateKey: string };
}

export async function makeClusterCas(
  now: Date = new Date(),
  algorithm: EncryptionAlgorithm = 'RSA-2048',
): Promise<ClusterCas> {
  const [ca, frontProxyCa, etcdCa, sa] = await Promise.all([
    makeCa('kubernetes', now, algorithm),
    makeCa('front-proxy-ca', now, algorithm),
    makeCa('etcd-ca', now, algorithm),
    newKeyPair('RSA-2048'),
  ]);
  return {
    ca,
    frontProxyCa,
    etcdCa,
    sa: { publicKey: await publicKeyPem(sa.publicKey), privateKey: await privateKeyPem(sa.privateKey) },
  };
}

// Signs the cluster's certificates the way kubeadm's pkiutil does: self-signed CAs with CA:TRUE and
// certificate signing, leaves with CA:FALSE, digital signature (plus key encipherment for RSA), the
// extended key usages of their role and the CA's key identifier. Dates start five minutes back so that a
// host whose clock is a little behind the machine running berth still accepts them.

import { randomBytes } from 'node:crypto';
import {
  crypto,
  type EncryptionAlgorithm,
  importSigningKey,
  newKeyPair,
  privateKeyPem,
  signingAlgorithm,
  type WebCryptoKey,
} from './keys.js';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  type JsonGeneralName,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from './x509.js';

export interface Pem {
  cert: string;
  key: string;
}

const hour = 3_600_000;
/** kubeadm's caCertificateValidityPeriod and certificateValidityPeriod defaults. */
export const caValidityMs = 87_600 * hour;
export const leafValidityMs = 8_760 * hour;
const backdateMs = 5 * 60_000;

export interface Subject {
  cn: string;
  /** Organizations: the groups a client certificate puts its user in. */
  o?: string[];
}

export interface AltNames {
  dns: string[];
  ips: string[];
}

export type Usage = 'server' | 'client';

/** A positive serial number of 63 random bits, as Go's crypto/x509 users pick them. */
function serial(): string {
  const b = randomBytes(8);
  b[0] = (b[0] ?? 0) & 0x7f || 0x01;
  return b.toString('hex');
}

function name(s: Subject) {
  return [...(s.o ?? []).map((o) => ({ O: [o] })), { CN: [s.cn] }];
}

function sanExtension(alt: AltNames): Extension[] {
  const names: JsonGeneralName[] = [
    ...alt.dns.map((value) => ({ type: 'dns' as const, value })),
    ...alt.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length > 0 ? [new SubjectAlternativeNameExtension(names)] : [];
}

/** A self-signed CA valid for ten years; its name doubles as its DNS name, as kubeadm's CAs carry it. */
export async function makeCa(cn: string, now: Date, algorithm?: EncryptionAlgorithm): Promise<Pem> {
  const keys = await newKeyPair(algorithm);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: name({ cn }),
      notBefore: new Date(now.getTime() - backdateMs),
      notAfter: new Date(now.getTime() + caValidityMs),
      keys,
      signingAlgorithm: signingAlgorithm(keys.privateKey),
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(
          KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment | KeyUsageFlags.keyCertSign,
          true,
        ),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ...sanExtension({ dns: [cn], ips: [] }),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

export interface LeafSpec {
  subject: Subject;
  usages: Usage[];
  alt?: AltNames;
}

/**
 * A leaf certificate and its new key, signed by `ca`, valid for one year (never past the CA). The key is
 * of the CA's kind, as kubeadm makes every key of a cluster with one encryption algorithm.
 */
export async function signLeaf(ca: Pem, spec: LeafSpec, now: Date): Promise<Pem> {
  const caCert = new X509Certificate(ca.cert);
  const caKey: WebCryptoKey = await importSigningKey(ca.key);
  const ecdsa = caKey.algorithm.name === 'ECDSA';
  const keys = await newKeyPair(ecdsa ? 'ECDSA-P256' : 'RSA-2048');
  const notAfter = Math.min(now.getTime() + leafValidityMs, caCert.notAfter.getTime());
  const usage = KeyUsageFlags.digitalSignature | (ecdsa ? 0 : KeyUsageFlags.keyEncipherment);
  const eku = spec.usages.map((u) =>
    u === 'server' ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth,
  );
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: name(spec.subject),
      issuer: caCert.subjectName,
      notBefore: new Date(now.getTime() - backdateMs),
      notAfter: new Date(notAfter),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: signingAlgorithm(caKey),
      extensions: [
        new KeyUsagesExtension(usage, true),
        new ExtendedKeyUsageExtension(eku, false),
        new BasicConstraintsExtension(false, undefined, true),
        await AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto),
        ...sanExtension(spec.alt ?? { dns: [], ips: [] }),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

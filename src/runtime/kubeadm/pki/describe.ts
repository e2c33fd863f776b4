// What a certificate says, read back from its PEM: for `berth cert check`, `berth status` and tests.

import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
} from './x509.js';

export interface CertificateFacts {
  subject: string;
  issuer: string;
  serialNumber: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** Key usage names as X.509 spells them: digitalSignature, keyEncipherment, keyCertSign... */
  keyUsages: string[];
  /** serverAuth, clientAuth, or the OID of another usage. */
  extKeyUsages: string[];
  isCa: boolean;
}

const ekuNames = new Map<string, string>(Object.entries(ExtendedKeyUsage).map(([k, v]) => [v, k]));

export function describeCertificate(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  const ku = cert.getExtension(KeyUsagesExtension)?.usages ?? 0;
  const eku = cert.getExtension(ExtendedKeyUsageExtension)?.usages ?? [];
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyUsages: Object.entries(KeyUsageFlags)
      .filter(([, bit]) => typeof bit === 'number' && (ku & bit) !== 0)
      .map(([n]) => n),
    extKeyUsages: Array.from(eku, (u) => ekuNames.get(String(u)) ?? String(u)),
    isCa: cert.getExtension(BasicConstraintsExtension)?.ca ?? false,
  };
}

/** Every PEM certificate block in a file (bundles hold a chain). */
export function certificatesIn(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

// Node cannot mint X.509 certificates, so CAs and leaf certificates come from the openssl CLI; keys are
// ECDSA P-256 in SEC1 PEM, as k3s writes them.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

export interface LeafSpec {
  cn: string;
  org?: string;
  sans?: string[];
  usage: 'server' | 'client' | 'both';
}

export function newEcKey(): string {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

function runOpenssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (err, _out, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'k3s-standin-pki-'));
  try {
    await writeFile(join(dir, 'openssl.cnf'), '[req]\ndistinguished_name=dn\n[dn]\n');
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const subject = (cn: string, org?: string) => (org ? `/O=${org}/CN=${cn}` : `/CN=${cn}`);

export function newCa(cn: string): Promise<CertPair> {
  return withWorkDir(async (dir) => {
    const key = newEcKey();
    await writeFile(join(dir, 'ca.key'), key, { mode: 0o600 });
    await runOpenssl([
      'req',
      '-config',
      join(dir, 'openssl.cnf'),
      '-x509',
      '-new',
      '-key',
      join(dir, 'ca.key'),
      '-subj',
      subject(cn),
      '-days',
      '3650',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
      '-out',
      join(dir, 'ca.crt'),
    ]);
    return { cert: await readFile(join(dir, 'ca.crt'), 'utf8'), key };
  });
}

export function signLeaf(ca: CertPair, spec: LeafSpec): Promise<CertPair> {
  return withWorkDir(async (dir) => {
    const key = newEcKey();
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    await writeFile(join(dir, 'leaf.key'), key, { mode: 0o600 });
    const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[spec.usage];
    const args = [
      'req',
      '-config',
      join(dir, 'openssl.cnf'),
      '-x509',
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-key',
      join(dir, 'leaf.key'),
      '-subj',
      subject(spec.cn, spec.org),
      '-days',
      '365',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext',
      `extendedKeyUsage=${eku}`,
    ];
    const sans = [...new Set(spec.sans ?? [])].filter(Boolean);
    if (sans.length) {
      args.push('-addext', `subjectAltName=${sans.map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`)).join(',')}`);
    }
    args.push('-out', join(dir, 'leaf.crt'));
    await runOpenssl(args);
    return { cert: await readFile(join(dir, 'leaf.crt'), 'utf8'), key };
  });
}

/** A certificate signing request for `key` (what a kubelet sends in its TLS bootstrap). */
export function newCsr(key: string, cn: string, org?: string): Promise<string> {
  return withWorkDir(async (dir) => {
    await writeFile(join(dir, 'leaf.key'), key, { mode: 0o600 });
    await runOpenssl([
      'req',
      '-config',
      join(dir, 'openssl.cnf'),
      '-new',
      '-key',
      join(dir, 'leaf.key'),
      '-subj',
      subject(cn, org),
      '-out',
      join(dir, 'leaf.csr'),
    ]);
    return readFile(join(dir, 'leaf.csr'), 'utf8');
  });
}

/** Signs a CSR's subject and key as a client certificate for a year (the CSR signing controller's work). */
export function signCsr(ca: CertPair, csrPem: string): Promise<string> {
  return withWorkDir(async (dir) => {
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    await writeFile(join(dir, 'leaf.csr'), csrPem);
    await writeFile(
      join(dir, 'ext.cnf'),
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    );
    await runOpenssl([
      'x509',
      '-req',
      '-in',
      join(dir, 'leaf.csr'),
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '365',
      '-extfile',
      join(dir, 'ext.cnf'),
      '-out',
      join(dir, 'leaf.crt'),
    ]);
    return readFile(join(dir, 'leaf.crt'), 'utf8');
  });
}

// Node cannot mint X.509 certificates, so CAs and leaf certificates come from the openssl CLI; keys are
// ECDSA P-256 in SEC1 PEM, as k3s writes them.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

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

/**
 * Runs openssl with `inputs` open on fds 3, 4, ... (named in `args` by `input(i)`) and returns what it
 * printed. The inputs reach it through bash here-strings rather than files, so a stand-in killed mid-way
 * leaves no key or work folder on the host, as the real programs, which sign in memory, leave none.
 */
function runOpenssl(args: string[], inputs: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const redirects = inputs.map((text, i) => {
    env[`PKI_IN_${3 + i}`] = text;
    return `${3 + i}<<<"$PKI_IN_${3 + i}"`;
  });
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', `exec openssl "$@" ${redirects.join(' ')}`, 'openssl', ...args],
      { env },
      (err, out, stderr) => {
        if (err) reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
        else resolve(out);
      },
    );
  });
}

const input = (i: number) => `/dev/fd/${3 + i}`;
const reqConfig = '[req]\ndistinguished_name=dn\n[dn]\n';
const subject = (cn: string, org?: string) => (org ? `/O=${org}/CN=${cn}` : `/CN=${cn}`);
const serial = () => `0x${randomBytes(8).toString('hex')}`;

export async function newCa(cn: string): Promise<CertPair> {
  const key = newEcKey();
  const cert = await runOpenssl(
    [
      'req',
      '-config',
      input(0),
      '-x509',
      '-new',
      '-key',
      input(1),
      '-subj',
      subject(cn),
      '-days',
      '3650',
      '-set_serial',
      serial(),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
    ],
    [reqConfig, key],
  );
  return { cert, key };
}

export async function signLeaf(ca: CertPair, spec: LeafSpec): Promise<CertPair> {
  const key = newEcKey();
  const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[spec.usage];
  const args = [
    'req',
    '-config',
    input(0),
    '-x509',
    '-CA',
    input(1),
    '-CAkey',
    input(2),
    '-key',
    input(3),
    '-subj',
    subject(spec.cn, spec.org),
    '-days',
    '365',
    '-set_serial',
    serial(),
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
  return { cert: await runOpenssl(args, [reqConfig, ca.cert, ca.key, key]), key };
}

/** A certificate signing request for `key` (what a kubelet sends in its TLS bootstrap). */
export function newCsr(key: string, cn: string, org?: string): Promise<string> {
  return runOpenssl(
    ['req', '-config', input(0), '-new', '-key', input(1), '-subj', subject(cn, org)],
    [reqConfig, key],
  );
}

/** Signs a CSR's subject and key as a client certificate for a year (the CSR signing controller's work). */
export function signCsr(ca: CertPair, csrPem: string): Promise<string> {
  return runOpenssl(
    [
      'x509',
      '-req',
      '-in',
      input(0),
      '-CA',
      input(1),
      '-CAkey',
      input(2),
      '-set_serial',
      serial(),
      '-days',
      '365',
      '-extfile',
      input(3),
    ],
    [
      csrPem,
      ca.cert,
      ca.key,
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    ],
  );
}

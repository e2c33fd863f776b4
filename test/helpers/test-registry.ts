import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { onFreePort, PortInUseError, saysPortInUse } from './ports.js';

// A stock distribution registry (Debian's docker-registry) started for one test on 127.0.0.1, with
// optional htpasswd auth, TLS from a CA the helper makes with openssl, and a given storage root.

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  root: string;
  /** Docker-style cert dir for this host (holds ca.crt), when TLS is on. */
  certDir?: string;
  caFile?: string;
  stop(): Promise<void>;
}

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=berth-test-ca',
  ]);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext',
    ]),
  );
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

export async function startRegistry(
  opts: {
    auth?: { user: string; password: string };
    /** Bearer-token auth: the registry's `auth.token` settings. */
    token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
    tls?: boolean;
    root?: string;
  } = {},
): Promise<TestRegistry> {
  return onFreePort((port) => startOn(port, opts));
}

async function startOn(port: number, opts: Parameters<typeof startRegistry>[0] = {}): Promise<TestRegistry> {
  const work = mkdtempSync(join(tmpdir(), 't-reg-'));
  const root = opts.root ?? join(work, 'data');
  mkdirSync(root, { recursive: true });
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(root)} }, delete: { enabled: true } }`,
  ];
  let certDir: string | undefined;
  let caFile: string | undefined;
  if (opts.tls) {
    const certs = makeCerts(work);
    certDir = join(work, 'certs.d', host);
    mkdirSync(certDir, { recursive: true });
    copyFileSync(certs.ca, join(certDir, 'ca.crt'));
    caFile = certs.ca;
    lines.push(`http: { addr: "${host}", tls: { certificate: "${certs.cert}", key: "${certs.key}" } }`);
  } else {
    lines.push(`http: { addr: "${host}" }`);
  }
  if (opts.auth) {
    // Go's bcrypt reads $2y$ hashes; bcryptjs writes $2b$, the same algorithm.
    const hash = bcrypt.hashSync(opts.auth.password, 6).replace(/^\$2b\$/, '$2y$');
    writeFileSync(join(work, 'htpasswd'), `${opts.auth.user}:${hash}\n`);
    lines.push(`auth: { htpasswd: { realm: berth-test, path: "${join(work, 'htpasswd')}" } }`);
  }
  if (opts.token) lines.push(`auth: { token: ${JSON.stringify(opts.token)} }`);
  writeFileSync(join(work, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(work, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000, undefined, { ref: false })]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { host, port, root, certDir, caFile, stop };
    await sleep(100);
  }
  await stop();
  if (saysPortInUse(stderr)) throw new PortInUseError(port, stderr.trim().split('\n').pop() ?? '');
  throw new Error(`docker-registry did not start on ${host}: ${stderr.slice(-500)}`);
}

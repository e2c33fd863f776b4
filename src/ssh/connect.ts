import { readFile } from 'node:fs/promises';
import { Client, type ConnectConfig } from 'ssh2';
import { ConnectError, errorMessage, HostKeyError } from '../util/errors.js';
import { log, registerSecret } from '../util/log.js';
import {
  checkHostKey,
  fingerprint,
  hostPattern,
  type KnownHostsFile,
  keyTypeOf,
  recordedTypes,
} from './known-hosts.js';
import { type HostSpec, hostLabel, hostPort, hostUser } from './types.js';

export interface ConnectOptions {
  knownHosts: KnownHostsFile;
  /** Replace a recorded host key that no longer matches (the user said the change is expected). */
  acceptNewHostKey: boolean;
  timeoutMs: number;
}

const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms for recorded key types go first, so a known host shows the key we can check. */
function hostKeyAlgorithms(known: string[]): string[] {
  const first = known.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  return [...new Set([...first, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

function authMethods(spec: HostSpec, privateKey: string | undefined): string[] {
  const methods: string[] = [];
  if (privateKey) methods.push('publickey');
  if (spec.agent) methods.push('agent');
  if (spec.password !== undefined) methods.push('password', 'keyboard-interactive');
  return methods;
}

function describeFailure(spec: HostSpec, methods: string[], err: unknown, timeoutMs: number): string {
  const e = err as NodeJS.ErrnoException & { level?: string };
  const port = hostPort(spec);
  if (e.level === 'client-authentication') {
    const tried = methods.filter((m) => m !== 'keyboard-interactive');
    return `user ${hostUser(spec)} was refused (tried ${tried.join(', ') || 'no credentials'}); check the user, password or key`;
  }
  if (e.level === 'client-timeout')
    return `no SSH answer within ${timeoutMs / 1000} s; check that the host is up and sshd listens on port ${port}`;
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host name; check the spelling or DNS';
    case 'ECONNREFUSED':
      return `connection refused on port ${port}; is sshd running there?`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable; check the address and routes';
    case 'ECONNRESET':
      return `connection reset during the SSH handshake on port ${port}`;
  }
  return `SSH connection failed: ${errorMessage(err)}`;
}

/**
 * The key to offer. A key file that does not exist, named together with a password, is skipped: sealos
 * writes `pk: /root/.ssh/id_rsa` into every Clusterfile it generates, and logs in by password when the file
 * is absent. Any other unreadable key file is an error.
 */
async function loadPrivateKey(spec: HostSpec): Promise<string | undefined> {
  if (spec.privateKey) return spec.privateKey;
  if (!spec.privateKeyPath) return undefined;
  try {
    return await readFile(spec.privateKeyPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && spec.password !== undefined) {
      log.debug(`${hostLabel(spec)}: no key file ${spec.privateKeyPath}; logging in with the password`);
      return undefined;
    }
    throw new ConnectError(
      hostLabel(spec),
      `cannot read private key ${spec.privateKeyPath}: ${errorMessage(err)}`,
    );
  }
}

/**
 * Opens one authenticated SSH connection, verifying the host key against berth's known_hosts: a new host
 * is recorded (trust on first use), a changed key is refused unless `acceptNewHostKey`. Fails with one
 * ConnectError line naming the host within `timeoutMs`.
 */
export async function connect(spec: HostSpec, opts: ConnectOptions): Promise<Client> {
  const label = hostLabel(spec);
  registerSecret(spec.password);
  registerSecret(spec.passphrase);
  registerSecret(spec.sudoPassword);
  const privateKey = await loadPrivateKey(spec);
  const methods = authMethods(spec, privateKey);
  const pattern = hostPattern(spec.host, hostPort(spec));
  const { entries } = await opts.knownHosts.read();
  let hostKeyError: HostKeyError | undefined;
  let recordKey: Promise<void> | undefined;

  const pinned = spec.hostKey ? Buffer.from(spec.hostKey.trim().split(/\s+/)[1] ?? '', 'base64') : undefined;
  const verify = (blob: Buffer): boolean => {
    if (pinned) {
      if (pinned.equals(blob)) return true;
      hostKeyError = new HostKeyError(
        label,
        `host key ${fingerprint(blob)} is not the expected ${fingerprint(pinned)}; the host was replaced or this is not the host you meant`,
      );
      return false;
    }
    const check = checkHostKey(entries, pattern, blob);
    if (check.status === 'known') return true;
    if (check.status === 'changed' && !opts.acceptNewHostKey) {
      const was = check.recorded.map((k) => fingerprint(k.key)).join(', ');
      hostKeyError = new HostKeyError(
        label,
        `host key changed: recorded ${was}, now offered ${keyTypeOf(blob)} ${fingerprint(blob)}; ` +
          `if the host was reinstalled, run again with --accept-host-key (or remove it from ${opts.knownHosts.path})`,
      );
      return false;
    }
    if (check.status === 'changed')
      log.warn(`${label}: replacing the recorded host key with ${fingerprint(blob)}`);
    else log.debug(`${label}: recording new host key ${fingerprint(blob)}`);
    recordKey = opts.knownHosts.record(pattern, blob);
    return true;
  };

  const client = new Client();
  const config: ConnectConfig = {
    host: spec.host,
    port: hostPort(spec),
    username: hostUser(spec),
    password: spec.password,
    privateKey,
    passphrase: spec.passphrase,
    agent: spec.agent,
    tryKeyboard: spec.password !== undefined,
    readyTimeout: opts.timeoutMs,
    // a host whose link dies mid-command is given up after 20-25 s of silence (its step then fails with
    // exit 5 naming it), not after the minutes TCP would retry; a live sshd answers within milliseconds
    keepaliveInterval: 5_000,
    keepaliveCountMax: 4,
    algorithms: {
      serverHostKey: hostKeyAlgorithms(
        pinned ? [keyTypeOf(pinned)] : recordedTypes(entries, pattern),
      ) as never,
    },
    hostVerifier: (key: Buffer) => verify(key),
    authHandler: methods as never,
  };

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      reject(
        hostKeyError ??
          (err instanceof ConnectError
            ? err
            : new ConnectError(label, describeFailure(spec, methods, err, opts.timeoutMs), { cause: err })),
      );
    };
    // ssh2's readyTimeout starts after DNS; this one bounds the whole attempt.
    const timer = setTimeout(() => fail({ level: 'client-timeout' }), opts.timeoutMs + 500);
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
      finish(prompts.map(() => spec.password ?? ''));
    });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    });
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed during the SSH handshake')));
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 throws here for a private key it cannot parse or decrypt, and for settings it refuses.
      const why = errorMessage(err);
      fail(
        new ConnectError(
          label,
          /key|passphrase/i.test(why)
            ? `cannot use the private key: ${why} (wrong passphrase?)`
            : `SSH connection failed: ${why}`,
        ),
      );
    }
  });
  await recordKey;
  return client;
}

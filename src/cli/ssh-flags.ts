import type { Command } from 'commander';
import type { HostSpec, SshPool } from '../ssh/index.js';
import { UsageError } from '../util/errors.js';
import { registerSecret } from '../util/log.js';

/** Flags shared by `berth exec` and `berth scp`: which hosts, and how to log in to them. */
export interface SshFlags {
  hosts?: string;
  sandbox?: string;
  user?: string;
  password?: string;
  identity?: string;
  passphrase?: string;
  port?: string;
  sudo?: boolean;
  timeout?: string;
  concurrency?: string;
  acceptHostKey?: boolean;
  json?: boolean;
}

export function addSshFlags(cmd: Command): Command {
  return cmd
    .option('--hosts <list>', 'comma-separated hosts: ip, ip:port, ranges like 10.0.0.2-10.0.0.5')
    .option('--sandbox <name>', 'the hosts of a sandbox, with its credentials')
    .option('-u, --user <user>', 'login user (default root)')
    .option('-p, --password <password>', 'login and sudo password (or env BERTH_SSH_PASSWORD)')
    .option('-i, --identity <file>', 'private key file')
    .option('--passphrase <passphrase>', 'passphrase of the private key')
    .option('--port <n>', 'SSH port for hosts listed without one (default 22)')
    .option('--sudo', 'run as root through sudo when the user is not root')
    .option('--timeout <sec>', 'give up after this many seconds')
    .option('--concurrency <n>', 'hosts worked on at once', '20')
    .option('--accept-host-key', 'accept and record a host key that differs from the recorded one');
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} ${v}: give a whole number above 0`);
  return Number(v);
}

function portOf(flags: SshFlags): number | undefined {
  const port = positiveInt('--port', flags.port);
  if (port !== undefined && port > 65535)
    throw new UsageError(`--port ${flags.port}: give a port from 1 to 65535`);
  if (port !== undefined && flags.sandbox !== undefined)
    throw new UsageError('--port applies to --hosts; the hosts of a sandbox have their own ports');
  return port;
}

export function concurrencyOf(flags: SshFlags): number {
  return positiveInt('--concurrency', flags.concurrency) ?? 20;
}

export function timeoutMsOf(flags: SshFlags): number | undefined {
  const sec = positiveInt('--timeout', flags.timeout);
  return sec === undefined ? undefined : sec * 1000;
}

/**
 * The hosts to work on: `hostList` (from an scp target) or --hosts with the auth flags, or a sandbox's
 * hosts (root with the sandbox key; `-u` with the sandbox user logs in as it, with its password for sudo).
 */
export async function resolveHosts(flags: SshFlags, hostList?: string): Promise<HostSpec[]> {
  const password = flags.password ?? process.env.BERTH_SSH_PASSWORD;
  registerSecret(password);
  registerSecret(flags.passphrase);
  const port = portOf(flags);
  const list = hostList ?? flags.hosts;
  if (list !== undefined && flags.sandbox !== undefined)
    throw new UsageError('give either --hosts (or HOSTS:PATH) or --sandbox, not both');
  const auth = (spec: HostSpec): HostSpec => {
    const out: HostSpec = { ...spec };
    if (flags.user) out.user = flags.user;
    if (password !== undefined) out.password = password;
    if (flags.identity) out.privateKeyPath = flags.identity;
    if (flags.passphrase !== undefined) out.passphrase = flags.passphrase;
    if (!out.privateKeyPath && !out.password && process.env.SSH_AUTH_SOCK)
      out.agent = process.env.SSH_AUTH_SOCK;
    return out;
  };
  if (list !== undefined) {
    const { parseHostList } = await import('../ssh/index.js');
    return parseHostList(list).map((a) => auth({ host: a.host, port: a.port ?? port }));
  }
  if (flags.sandbox === undefined) throw new UsageError('say which hosts: --hosts LIST or --sandbox NAME');
  const { loadSandbox } = await import('../sandbox/index.js');
  const sb = await loadSandbox(flags.sandbox);
  return sb.hosts.map((h) => {
    const asUser = flags.user !== undefined && flags.user === h.user;
    registerSecret(h.rootPassword);
    registerSecret(h.userPassword);
    return auth({
      host: h.ip,
      port: h.port,
      user: asUser ? h.user : 'root',
      privateKeyPath: sb.keyPath,
      password: asUser ? h.userPassword : h.rootPassword,
      hostKey: h.hostKey,
    });
  });
}

export async function poolFor(flags: SshFlags): Promise<SshPool> {
  const { SshPool } = await import('../ssh/index.js');
  return new SshPool({ acceptNewHostKey: flags.acceptHostKey === true });
}

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { InputError } from '../../util/errors.js';

// How berth reaches a registry host: HTTPS verified against the system CAs plus any CA docker would use
// for that host (/etc/docker/certs.d/<host>/*.crt, client.cert/client.key) or --ca-file. Plain HTTP only
// for hosts named insecure (--insecure-registry, BERTH_INSECURE_REGISTRIES) and, as docker does, for
// loopback hosts (localhost, 127.0.0.0/8, ::1). Named hosts get unverified HTTPS, then HTTP; loopback
// hosts get verified HTTPS, then HTTP.

export interface TransportOptions {
  /** Hosts (host[:port]) that may be reached over plain HTTP or unverified HTTPS. */
  insecureRegistries?: string[];
  /** A PEM file of extra CAs trusted for every registry. */
  caFile?: string;
  /** Docker's per-host certificate folders; default /etc/docker/certs.d. */
  certsDir?: string;
}

export function insecureRegistriesFromEnv(): string[] {
  return (process.env.BERTH_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon > 0 ? hostPort.slice(0, colon) : hostPort;
}

export function isLoopbackHost(hostPort: string): boolean {
  const h = hostOnly(hostPort);
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function isNamedInsecure(hostPort: string, opts: TransportOptions): boolean {
  const named = [...(opts.insecureRegistries ?? []), ...insecureRegistriesFromEnv()];
  return named.includes(hostPort) || named.includes(hostOnly(hostPort));
}

export function allowsPlainHttp(hostPort: string, opts: TransportOptions): boolean {
  return isLoopbackHost(hostPort) || isNamedInsecure(hostPort, opts);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

interface TlsMaterial {
  ca: string[];
  cert?: string;
  key?: string;
}

async function tlsMaterial(hostPort: string, opts: TransportOptions): Promise<TlsMaterial | undefined> {
  const extra: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  if (opts.caFile) {
    const pem = await readIfExists(opts.caFile);
    if (pem === undefined) throw new InputError(`--ca-file ${opts.caFile}: no such file`);
    extra.push(pem);
  }
  const dir = join(opts.certsDir ?? '/etc/docker/certs.d', hostPort);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names.sort()) {
    if (name.endsWith('.crt')) extra.push(await readFile(join(dir, name), 'utf8'));
    else if (name.endsWith('.cert')) cert = await readFile(join(dir, name), 'utf8');
    else if (name.endsWith('.key')) key = await readFile(join(dir, name), 'utf8');
  }
  if (extra.length === 0 && !cert) return undefined;
  return { ca: [...rootCertificates, ...extra], cert, key };
}

const agents = new Map<string, Promise<Dispatcher>>();

/** The dispatcher for one registry host; `verify: false` only for hosts allowed to be insecure. */
export function dispatcherFor(hostPort: string, opts: TransportOptions, verify = true): Promise<Dispatcher> {
  const key = `${hostPort}|${verify}|${opts.caFile ?? ''}|${opts.certsDir ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = (async () => {
      const tls = await tlsMaterial(hostPort, opts);
      return new Agent({
        connections: 16,
        keepAliveTimeout: 10_000,
        headersTimeout: 120_000,
        bodyTimeout: 300_000,
        connect: { ...(tls ?? {}), rejectUnauthorized: verify },
      });
    })();
    agents.set(key, agent);
  }
  return agent;
}

/** Closes every pooled connection, so that a command's process can exit at once. */
export async function closeDispatchers(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map(async (a) => (await a).close()));
}

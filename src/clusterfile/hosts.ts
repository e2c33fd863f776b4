import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { log, registerSecret } from '../util/log.js';
import { resolveReferences, UnsetVariableError } from './env-refs.js';
import { splitAddress } from './ips.js';
import type { Cluster, ClusterHost, Role, SshSpec } from './schema.js';

// The per-host view the apply engine works with: one entry per address, ssh settings merged
// (host override over spec.ssh over defaults), `${VAR}` references resolved from the environment.

export const defaultSshUser = 'root';
export const defaultSshPort = 22;

export interface HostSsh {
  user: string;
  password?: string;
  privateKeyPath?: string;
  privateKey?: string;
  passphrase?: string;
}

export interface ResolvedHost {
  ip: string;
  port: number;
  roles: Role[];
  /** spec.env with this host's env over it, `${VAR}` resolved, SEALOS_SYS* keys dropped. */
  env: Record<string, string>;
  ssh: HostSsh;
}

function resolveField(
  value: string | undefined,
  field: string,
  environment: NodeJS.ProcessEnv,
): string | undefined {
  if (value === undefined) return undefined;
  try {
    return resolveReferences(value, environment);
  } catch (err) {
    if (err instanceof UnsetVariableError) throw new InputError(`${field}: ${err.message}`);
    throw err;
  }
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function hostIndexOf(cluster: Cluster, ip: string): number {
  return cluster.spec.hosts.findIndex((h) => h.ips.some((a) => splitAddress(a).ip === ip));
}

/** spec.env then the host's env (later wins); keys starting with SEALOS_SYS are reserved and ignored. */
export function envMap(
  cluster: Cluster,
  host?: string | { ip: string },
  environment: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (entries: readonly string[] | undefined, where: string) => {
    entries?.forEach((entry, k) => {
      const eq = entry.indexOf('=');
      const key = entry.slice(0, eq);
      if (key.startsWith('SEALOS_SYS')) {
        log.debug(`${where}[${k}]: ${key} is set by berth itself; the value given is ignored`);
        return;
      }
      out[key] = resolveField(entry.slice(eq + 1), `${where}[${k}]`, environment) as string;
    });
  };
  add(cluster.spec.env, 'spec.env');
  if (host !== undefined) {
    const ip = typeof host === 'string' ? host : host.ip;
    const i = hostIndexOf(cluster, ip);
    if (i >= 0) add(cluster.spec.hosts[i]?.env, `spec.hosts[${i}].env`);
  }
  return out;
}

function mergeSsh(
  base: SshSpec,
  override: SshSpec | undefined,
  where: string,
  environment: NodeJS.ProcessEnv,
): { ssh: HostSsh; port?: number } {
  const pick = <K extends keyof SshSpec>(key: K): { value: SshSpec[K]; field: string } =>
    override?.[key] !== undefined
      ? { value: override[key], field: `${where}.ssh.${key}` }
      : { value: base[key], field: `spec.ssh.${key}` };
  const secret = (key: 'passwd' | 'pkPasswd') => {
    const { value, field } = pick(key);
    const resolved = resolveField(value as string | undefined, field, environment);
    registerSecret(resolved);
    return resolved;
  };
  const ssh: HostSsh = { user: (pick('user').value as string | undefined) ?? defaultSshUser };
  const password = secret('passwd');
  const passphrase = secret('pkPasswd');
  const pk = pick('pk').value as string | undefined;
  const pkData = pick('pkData').value as string | undefined;
  // An empty password or passphrase (as some generated Clusterfiles carry) means none.
  if (password) ssh.password = password;
  if (pk !== undefined) ssh.privateKeyPath = expandHome(pk);
  if (pkData) ssh.privateKey = pkData;
  if (passphrase) ssh.passphrase = passphrase;
  return { ssh, port: pick('port').value as number | undefined };
}

function resolveHostEntry(
  cluster: Cluster,
  host: ClusterHost,
  index: number,
  environment: NodeJS.ProcessEnv,
): ResolvedHost[] {
  const { ssh, port } = mergeSsh(cluster.spec.ssh, host.ssh, `spec.hosts[${index}]`, environment);
  return host.ips.map((address) => {
    const a = splitAddress(address);
    return {
      ip: a.ip,
      port: a.port ?? port ?? defaultSshPort,
      roles: [...host.roles],
      env: envMap(cluster, a.ip, environment),
      ssh: { ...ssh },
    };
  });
}

/** Every host address of the cluster in file order, with ssh and env resolved. */
export function resolveHosts(cluster: Cluster, environment: NodeJS.ProcessEnv = process.env): ResolvedHost[] {
  return cluster.spec.hosts.flatMap((h, i) => resolveHostEntry(cluster, h, i, environment));
}

export function masters(cluster: Cluster, environment?: NodeJS.ProcessEnv): ResolvedHost[] {
  return resolveHosts(cluster, environment).filter((h) => h.roles.includes('master'));
}

/** Hosts that are workers only (a host with both roles is listed by masters()). */
export function nodes(cluster: Cluster, environment?: NodeJS.ProcessEnv): ResolvedHost[] {
  return resolveHosts(cluster, environment).filter(
    (h) => h.roles.includes('node') && !h.roles.includes('master'),
  );
}

/** Hosts with role registry; without any, the first master holds the registry (as sealos does). */
export function registryHosts(cluster: Cluster, environment?: NodeJS.ProcessEnv): ResolvedHost[] {
  const hosts = resolveHosts(cluster, environment);
  const marked = hosts.filter((h) => h.roles.includes('registry'));
  if (marked.length > 0) return marked;
  return hosts.filter((h) => h.roles.includes('master')).slice(0, 1);
}

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { EnvironmentError, InputError, RegistryError } from '../../util/errors.js';
import { registerSecret } from '../../util/log.js';
import { isNotInstalled, runProgram } from '../../util/program.js';
import { dockerHubRegistry } from '../reference.js';

// Credentials live where docker keeps them, so that `docker login`, `skopeo login --authfile` and
// `berth login` share one file: $DOCKER_CONFIG/config.json (default ~/.docker/config.json) or --authfile.
// Precedence per host: credHelpers[host] > credsStore > auths[host].

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's "identitytoken"), traded for bearer tokens by POST. */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** Docker Hub is filed under its v1 index URL, every other registry under its host[:port]. */
export const dockerHubConfigKey = 'https://index.docker.io/v1/';

export function configKey(registry: string): string {
  return registry === dockerHubRegistry ? dockerHubConfigKey : registry;
}

export function dockerConfigPath(authfile?: string): string {
  if (authfile) return authfile;
  const dir = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** `https://host:5000/v1/`, `host:5000` and `http://host:5000` all name the same registry. */
function normalizeKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? dockerHubRegistry : host;
}

export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as DockerConfig;
  } catch {
    // fall through to the error below
  }
  throw new InputError(`${path}: not a JSON object; fix or remove the file`);
}

function helperFor(config: DockerConfig, registry: string): string | undefined {
  for (const [key, name] of Object.entries(config.credHelpers ?? {})) {
    if (normalizeKey(key) === registry) return name;
  }
  return config.credsStore || undefined;
}

async function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const program = `docker-credential-${name}`;
  const r = await runProgram(program, [action], input).catch((e: unknown) => {
    throw isNotInstalled(e)
      ? new EnvironmentError(`${program} not found: install it or remove it from the docker config`)
      : e;
  });
  if (r.code !== 0)
    throw new RegistryError(`${program} ${action} failed: ${(r.stdout || r.stderr).trim().split('\n')[0]}`);
  return r.stdout;
}

function decodeEntry(entry: AuthEntry, path: string, key: string): Credentials {
  if (!entry || typeof entry !== 'object')
    throw new InputError(`${path}: auths["${key}"] is not an object; fix or remove it`);
  for (const field of ['auth', 'username', 'password', 'identitytoken'] as const) {
    const v = entry[field];
    if (v !== undefined && v !== null && typeof v !== 'string')
      throw new InputError(`${path}: auths["${key}"].${field} is not a string; fix or remove it`);
  }
  const creds: Credentials = {};
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) throw new InputError(`${path}: auths["${key}"].auth is not base64 of user:password`);
    creds.username = plain.slice(0, colon);
    creds.password = plain.slice(colon + 1);
  } else if (entry.username) {
    creds.username = entry.username;
    creds.password = entry.password;
  }
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  return creds;
}

/** Finds the stored credentials for `registry` (host[:port], `docker.io` for Docker Hub). */
export async function lookupCredentials(
  registry: string,
  authfile?: string,
): Promise<Credentials | undefined> {
  const path = dockerConfigPath(authfile);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper) {
    let out: string;
    try {
      out = await runHelper(helper, 'get', configKey(registry));
    } catch (err) {
      // Helpers report a missing entry as a failure; auths may still hold one.
      if (!(err instanceof RegistryError)) throw err;
      out = '';
    }
    if (out) {
      const reply = JSON.parse(out) as { Username?: string; Secret?: string };
      const creds: Credentials =
        reply.Username === '<token>'
          ? { identityToken: reply.Secret }
          : { username: reply.Username, password: reply.Secret };
      registerSecret(creds.password);
      registerSecret(creds.identityToken);
      return creds;
    }
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeKey(key) !== registry) continue;
    const creds = decodeEntry(entry, path, key);
    registerSecret(creds.password);
    registerSecret(creds.identityToken);
    if (creds.username || creds.identityToken) return creds;
  }
  return undefined;
}

/** Saves credentials through the host's credential helper when one is configured, else into auths. */
export async function storeCredentials(
  registry: string,
  creds: Credentials,
  authfile?: string,
): Promise<string> {
  const path = dockerConfigPath(authfile);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper) {
    await runHelper(
      helper,
      'store',
      JSON.stringify({ ServerURL: configKey(registry), Username: creds.username, Secret: creds.password }),
    );
    return `docker-credential-${helper}`;
  }
  const auths = { ...(config.auths ?? {}) };
  for (const key of Object.keys(auths)) if (normalizeKey(key) === registry) delete auths[key];
  auths[configKey(registry)] = {
    auth: Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64'),
  };
  await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`, 0o600);
  return path;
}

/** Removes the credentials of `registry`; false when none were stored. */
export async function removeCredentials(registry: string, authfile?: string): Promise<boolean> {
  const path = dockerConfigPath(authfile);
  const config = await readDockerConfig(path);
  let removed = false;
  const helper = helperFor(config, registry);
  if (helper) {
    try {
      await runHelper(helper, 'erase', configKey(registry));
      removed = true;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
    }
  }
  const auths = { ...(config.auths ?? {}) };
  for (const key of Object.keys(auths)) {
    if (normalizeKey(key) === registry) {
      delete auths[key];
      removed = true;
    }
  }
  if (removed && config.auths)
    await writeFileAtomic(path, `${JSON.stringify({ ...config, auths }, null, '\t')}\n`, 0o600);
  return removed;
}

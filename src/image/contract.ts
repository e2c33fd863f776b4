// The contract between berth and a cluster image: what its labels mean (type, distribution, version, hooks),
// which env its scripts see, which hook command runs, and how it is quoted for the shell. Images are the sealos (labring) kind; see
// /work/shared/reference/sealos-compat.md "Image metadata" for the labels and variables involved.

import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { registerSecret } from '../util/log.js';
import { shellQuote } from '../util/shell.js';
import type { ImageConfig } from './types.js';

export type Env = Record<string, string>;

export const hookNames = [
  'check',
  'init',
  'clean',
  'init-registry',
  'clean-registry',
  'init-cri',
  'clean-cri',
] as const;
export type HookName = (typeof hookNames)[number];

export type ImageType = 'rootfs' | 'patch' | 'application';

/** The sealos release whose image contract berth implements; scripts compare SEALOS_SYS_SEALOS_VERSION against it. */
export const sealosCompatVersion = '4.3.7';

/** Where containerd listens in the labring rootfs images; used when no image names its CRI socket. */
export const defaultCriEndpoint = '/run/containerd/containerd.sock';

/**
 * Values berth fills in when no image sets them. These are the values berth itself uses for the cluster
 * registry and the API balancer, so an image that does not declare them still gets scripts and templates
 * that agree with what berth set up. criData and sandboxImage are NOT defaulted: they belong to the
 * runtime and Kubernetes version the image ships, and a guessed value would be silently wrong.
 */
export const envDefaults: Readonly<Env> = {
  registryDomain: 'sealos.hub',
  registryPort: '5000',
  registryUsername: 'admin',
  registryPassword: 'passw0rd',
  registryData: '/var/lib/registry',
  registryConfig: '/etc/registry',
  defaultVIP: '10.103.97.2',
  SEALOS_SYS_CRI_ENDPOINT: defaultCriEndpoint,
};

/** Env keys whose values are secrets: the caller registers them (registerEnvSecrets) before logging anything. */
export const secretEnvKeys: readonly string[] = ['registryPassword'];

export function registerEnvSecrets(env: Readonly<Env>): void {
  for (const key of secretEnvKeys) registerSecret(env[key]);
}

/** Parses `K=V` entries (image ENV, Clusterfile env); an entry without `=` or with an empty key is skipped. */
export function parseEnvList(list: readonly string[] | undefined): Env {
  const env: Env = {};
  for (const entry of list ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export function imageEnv(config: ImageConfig): Env {
  return parseEnvList(config.config?.Env);
}

const userReserved = /^SEALOS_SYS/;

/**
 * The env a host's scripts, templates and CMD see: berth's defaults, then each image's ENV in image
 * order, then the cluster env, then the host env (later wins). Users cannot set SEALOS_SYS_* (those keys
 * in cluster and host env are ignored); images can, which is how a docker or cri-o image names its CRI
 * socket. Finally berth's own facts: SEALOS_SYS_KUBE_VERSION (the rootfs image's `version` label) and
 * SEALOS_SYS_SEALOS_VERSION always win, and SEALOS_SYS_IMAGE_ENDPOINT falls back to the CRI endpoint.
 */
export function mergeEnv(
  imageEnvs: readonly Readonly<Env>[],
  clusterEnv: Readonly<Env> = {},
  hostEnv: Readonly<Env> = {},
  facts: { kubeVersion?: string } = {},
): Env {
  const env: Env = { ...envDefaults };
  for (const e of imageEnvs) Object.assign(env, e);
  for (const user of [clusterEnv, hostEnv]) {
    for (const [k, v] of Object.entries(user)) if (!userReserved.test(k)) env[k] = v;
  }
  env.SEALOS_SYS_IMAGE_ENDPOINT ??= env.SEALOS_SYS_CRI_ENDPOINT as string;
  if (facts.kubeVersion) env.SEALOS_SYS_KUBE_VERSION = facts.kubeVersion;
  env.SEALOS_SYS_SEALOS_VERSION = sealosCompatVersion;
  return env;
}

function firstLabel(
  labels: Readonly<Record<string, string>> | undefined,
  keys: string[],
): string | undefined {
  for (const k of keys) {
    const v = labels?.[k]?.trim();
    if (v) return v;
  }
  return undefined;
}

/** A hook label's command line (hook labels are plain keys such as `check`), or undefined when absent or blank. */
export function labelValue(
  labels: Readonly<Record<string, string>> | undefined,
  hook: HookName,
): string | undefined {
  return firstLabel(labels, [hook]);
}

export function imageType(labels: Readonly<Record<string, string>> | undefined, image = 'image'): ImageType {
  const t = firstLabel(labels, ['sealos.io.type', 'apps.sealos.io/type']);
  if (t === undefined) return 'application';
  if (t === 'rootfs' || t === 'patch' || t === 'application') return t;
  throw new InputError(`${image}: label sealos.io.type is "${t}"; expected rootfs, patch or application`);
}

/** The distributions a cluster image may declare (sealos names; no label means kubeadm). */
export const distributions = ['kubeadm', 'k3s', 'k0s'] as const;
export type Distribution = (typeof distributions)[number];

/** The distribution a rootfs image declares; which of them berth can install is the runtime's business. */
export function distribution(
  labels: Readonly<Record<string, string>> | undefined,
  image = 'image',
): Distribution {
  const d = firstLabel(labels, ['apps.sealos.io/distribution', 'sealos.io.distribution'])?.toLowerCase();
  if (d === undefined || d === 'kubernetes') return 'kubeadm';
  if ((distributions as readonly string[]).includes(d)) return d as Distribution;
  throw new InputError(
    `${image}: label apps.sealos.io/distribution is "${d}", which berth does not know; expected k3s, k0s or none (kubeadm)`,
  );
}

/** The Kubernetes version a rootfs image carries (`version` label), e.g. v1.27.7. */
export function kubeVersion(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  return firstLabel(labels, ['version']);
}

/**
 * The shell line that runs `hook` for an image whose root filesystem is at `rootfsDir` on the host: from
 * `<rootfs>/scripts`, with `env` exported. A label names a script the way labring images write them
 * (`check.sh $registryData`, `init-cri.sh && bash init.sh`): a first word ending in `.sh` is run with bash,
 * as sealos does. Without a label, `<hook>.sh` runs when `fileExists` finds it; otherwise there is nothing
 * to run (undefined).
 */
export async function hookCommand(
  labels: Readonly<Record<string, string>> | undefined,
  hook: HookName,
  rootfsDir: string,
  fileExists: (path: string) => boolean | Promise<boolean>,
  env: Readonly<Env> = {},
): Promise<string | undefined> {
  const scripts = join(rootfsDir, 'scripts');
  let command = labelValue(labels, hook);
  if (command === undefined) {
    if (!(await fileExists(join(scripts, `${hook}.sh`)))) return undefined;
    command = `${hook}.sh`;
  }
  if (/^[^\s;&|<>()$`'"]+\.sh(\s|$)/.test(command)) command = `bash ${command}`;
  return `cd ${shellQuote(scripts)} && ${shellEnvPrefix(env)}${command}`;
}

const varRef =
  /\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Expands `$(VAR)`, `${VAR}` and `$VAR` in a CMD/ENTRYPOINT string from `env`. References to names not in
 * env are left as written, so shell variables and `$(command)` substitutions still reach the shell;
 * `$$(` stays a literal `$(`.
 */
export function expandVars(cmd: string, env: Readonly<Env>): string {
  return cmd.replace(varRef, (whole, paren?: string, brace?: string, bare?: string) => {
    if (whole === '$$(') return '$(';
    const name = (paren ?? brace ?? bare) as string;
    return Object.hasOwn(env, name) ? (env[name] as string) : whole;
  });
}

const shellName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export K='v' ...; ` for every entry of env (sorted by key), or '' for an empty env. */
export function shellEnvPrefix(env: Readonly<Env>): string {
  const keys = Object.keys(env).sort();
  if (keys.length === 0) return '';
  for (const k of keys) {
    if (!shellName.test(k)) {
      throw new InputError(`env key "${k}" is not a valid shell variable name; use letters, digits and _`);
    }
  }
  return `export ${keys.map((k) => `${k}=${shellQuote(env[k] as string)}`).join(' ')}; `;
}

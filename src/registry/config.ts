// The in-cluster registry: a distribution ("docker registry" 2.x) server on the registry host, serving
// the image's registry/ directory with htpasswd authentication.

import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { installService, type ServiceLayout, type ServiceSpec } from '../runtime/services.js';
import { shq } from '../runtime/shell.js';
import type { HostAction } from '../runtime/types.js';

export const registryServiceName = 'berth-registry';

export interface RegistryServerOptions {
  /** The image root filesystem on the registry host; `<rootfsDir>/cri/registry` is preferred when present. */
  rootfsDir: string;
  /** Storage root (holds docker/registry/v2), sealos' registryData. */
  dataDir: string;
  /** Where config.yml and htpasswd go, sealos' registryConfig. */
  configDir: string;
  port: number;
  username: string;
  password: string;
}

/** distribution's configuration: filesystem storage, no deletes, htpasswd auth, storage health check. */
export function registryConfigYaml(o: Pick<RegistryServerOptions, 'dataDir' | 'configDir' | 'port'>): string {
  return stringify(
    {
      version: 0.1,
      log: { level: 'info', formatter: 'text' },
      storage: {
        filesystem: { rootdirectory: o.dataDir },
        delete: { enabled: false },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: `:${o.port}`, headers: { 'X-Content-Type-Options': ['nosniff'] } },
      auth: { htpasswd: { realm: 'berth-registry', path: `${o.configDir}/htpasswd` } },
      health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
    },
    { aliasDuplicateObjects: false },
  );
}

/**
 * One htpasswd line. bcryptjs writes `$2b$`; the algorithm is the same as Apache's `$2y$`, which is what
 * htpasswd files normally hold, and distribution's Go bcrypt accepts any minor version letter.
 */
export function htpasswdLine(username: string, password: string): string {
  if (username.includes(':'))
    throw new Error(`registry user name ${JSON.stringify(username)} must not contain ':'`);
  const hash = bcrypt.hashSync(password, 10).replace(/^\$2[ab]\$/, '$2y$');
  return `${username}:${hash}\n`;
}

/** The service running the registry: the image's own binary if it has one, else the host's. */
export function registryServiceSpec(o: Pick<RegistryServerOptions, 'rootfsDir' | 'configDir'>): ServiceSpec {
  const candidates = [`${o.rootfsDir}/cri/registry`, 'registry', 'docker-registry'].map(shq).join(' ');
  return {
    name: registryServiceName,
    description: 'berth cluster image registry',
    prelude: [
      'bin=',
      `for c in ${candidates}; do if command -v "$c" >/dev/null 2>&1; then bin=$c; break; fi; done`,
      `[ -n "$bin" ] || { echo "no registry program: the image has no cri/registry and neither registry nor docker-registry is installed" >&2; exit 1; }`,
    ].join('\n'),
    command: `"$bin" serve ${shq(`${o.configDir}/config.yml`)}`,
  };
}

/** Writes config and htpasswd, starts the registry and waits (at most 30 s) until its port answers. */
export function registryServerAction(o: RegistryServerOptions, layout?: ServiceLayout): HostAction {
  const service = installService(registryServiceSpec(o), layout);
  return {
    description: `run the cluster registry on port ${o.port}`,
    files: [
      { path: `${o.configDir}/config.yml`, content: registryConfigYaml(o), mode: 0o644 },
      { path: `${o.configDir}/htpasswd`, content: htpasswdLine(o.username, o.password), mode: 0o600 },
      ...(service.files ?? []),
    ],
    commands: [
      `mkdir -p ${shq(o.dataDir)}`,
      ...(service.commands ?? []),
      waitForPortCommand('127.0.0.1', o.port, 30, `registry on port ${o.port} did not answer within 30 s`),
    ],
    secrets: [o.password],
  };
}

/** Portable TCP probe (no bash /dev/tcp in dash, no -z in busybox nc): a sh function named `probe`. */
export const tcpProbeFunction = `probe() {
  if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- ' -z'; then nc -z -w1 "$1" "$2" </dev/null >/dev/null 2>&1
  elif command -v bash >/dev/null 2>&1; then timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
  else timeout 2 busybox nc -w1 "$1" "$2" </dev/null >/dev/null 2>&1
  fi
}`;

export function waitForPortCommand(host: string, port: number, seconds: number, failure: string): string {
  return `${tcpProbeFunction}
i=0
until probe ${shq(host)} ${port}; do
  i=$((i + 1))
  if [ $i -ge ${seconds * 2} ]; then echo ${shq(failure)} >&2; exit 1; fi
  sleep 0.5
done`;
}

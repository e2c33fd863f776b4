// The in-cluster registry: a distribution ("docker registry" 2.x) server on the registry host, serving
// the image's registry/ directory with htpasswd authentication.

import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import type { HostAction } from '../host/action.js';
import { installService, type ServiceLayout, type ServiceSpec } from '../host/services.js';
import { waitForPortCommand } from '../host/wait-port.js';
import { shellQuote } from '../util/shell.js';

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
  const candidates = [`${o.rootfsDir}/cri/registry`, 'registry', 'docker-registry'].map(shellQuote).join(' ');
  return {
    name: registryServiceName,
    description: 'berth cluster image registry',
    prelude: [
      'bin=',
      `for c in ${candidates}; do if command -v "$c" >/dev/null 2>&1; then bin=$c; break; fi; done`,
      `[ -n "$bin" ] || { echo "no registry program: the image has no cri/registry and neither registry nor docker-registry is installed" >&2; exit 1; }`,
    ].join('\n'),
    command: `"$bin" serve ${shellQuote(`${o.configDir}/config.yml`)}`,
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
      `mkdir -p ${shellQuote(o.dataDir)}`,
      ...(service.commands ?? []),
      waitForPortCommand('127.0.0.1', o.port, 30, `registry on port ${o.port} did not answer within 30 s`),
    ],
    secrets: [o.password],
  };
}

// `k0s install controller|worker`: the node config checked and the controller's system users created (for
// controllers), then the service whose command line is the role word and every flag the user set, sorted
// by name as pflag visits them, as `--name=value` (lists without brackets, paths made absolute, --env and
// --force left out).
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { type FlagValues, list } from '../kubeadm/cobra-flags.js';
import type { ClusterSettings } from './cluster-config.js';
import { installService, type Role } from './k0s-service.js';

const NOT_COPIED = new Set(['env', 'force', 'help']);
const ABSOLUTE = new Set(['data-dir', 'token-file', 'config']);

export function serviceArgs(role: Role, values: FlagValues): string[] {
  const args: string[] = [role];
  for (const name of [...values.keys()].sort()) {
    if (NOT_COPIED.has(name)) continue;
    const v = values.get(name)!;
    let text = Array.isArray(v) ? v.join(',') : String(v);
    if (ABSOLUTE.has(name) && text !== '-') text = resolve(text);
    args.push(`--${name}=${text}`);
  }
  return args;
}

/** The controller's system users (spec.installConfig.users), nologin, with the data dir as home. */
export function systemUsers(c: ClusterSettings): string[] {
  return [
    ...new Set([
      c.users.etcdUser,
      c.users.kubeAPIserverUser,
      c.users.konnectivityUser,
      c.users.kubeSchedulerUser,
    ]),
  ];
}

function ensureUser(name: string, home: string): void {
  if (spawnSync('getent', ['passwd', name], { stdio: 'ignore' }).status === 0) return;
  execFileSync(
    'useradd',
    ['--system', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', name],
    { stdio: 'ignore' },
  );
}

export function runInstall(
  role: Role,
  values: FlagValues,
  c: ClusterSettings | undefined,
  dataDir: string,
  self: string,
): void {
  if (role === 'controller' && c) for (const u of systemUsers(c)) ensureUser(u, dataDir);
  installService(
    role,
    [self, ...serviceArgs(role, values)],
    list(values, 'env'),
    values.get('force') === true,
  );
}

// k0s's command line (cobra/pflag, pkg/config/cli.go): the shared flag sets and which of them each
// subcommand takes, so a flag k0s does not define for a command is refused with pflag's wording.
import type { FlagSpec } from '../kubeadm/cobra-flags.js';

const s = (name: string, short?: string): FlagSpec => ({ name, kind: 'string', ...(short ? { short } : {}) });
const b = (name: string, short?: string): FlagSpec => ({ name, kind: 'bool', ...(short ? { short } : {}) });
const l = (name: string, short?: string): FlagSpec => ({ name, kind: 'slice', ...(short ? { short } : {}) });

const help = b('help', 'h');

export const PERSISTENT: FlagSpec[] = [
  b('debug', 'd'),
  b('verbose', 'v'),
  s('data-dir'),
  s('status-socket'),
  s('debugListenOn'),
];

export const WORKER: FlagSpec[] = [
  s('profile'),
  s('cidr-range'),
  b('enable-cloud-provider'),
  s('token-file'),
  l('logging', 'l'),
  l('labels'),
  l('taints'),
  s('kubelet-extra-args'),
  s('iptables-mode'),
  s('cri-socket'),
];

export const CONTROLLER: FlagSpec[] = [
  s('profile'),
  b('enable-worker'),
  l('disable-components'),
  s('token-file'),
  l('logging', 'l'),
  b('single'),
  b('no-taints'),
  b('enable-k0s-cloud-provider'),
  { name: 'k0s-cloud-provider-update-frequency', kind: 'duration' },
  { name: 'k0s-cloud-provider-port', kind: 'int' },
  s('cri-socket'),
  b('enable-dynamic-config'),
  b('enable-metrics-scraper'),
  s('kube-controller-manager-extra-args'),
  s('config', 'c'),
];

const INSTALL: FlagSpec[] = [b('force'), { name: 'env', kind: 'slice', short: 'e' }, ...PERSISTENT];

function merged(...sets: FlagSpec[][]): FlagSpec[] {
  const byName = new Map<string, FlagSpec>();
  for (const set of sets) for (const f of set) if (!byName.has(f.name)) byName.set(f.name, f);
  return [...byName.values(), help];
}

/** The flags of each command path k0s has (and the stand-in implements), `help` included. */
export const COMMAND_FLAGS: Record<string, FlagSpec[]> = {
  controller: merged(CONTROLLER, WORKER, PERSISTENT, [b('ignore-pre-flight-checks')]),
  worker: merged(WORKER, PERSISTENT, [b('ignore-pre-flight-checks')]),
  'install controller': merged(CONTROLLER, WORKER, INSTALL),
  'install worker': merged(WORKER, INSTALL),
  start: merged(),
  stop: merged(),
  reset: merged(PERSISTENT, [s('cri-socket'), s('config', 'c')]),
  status: merged(PERSISTENT, [s('out', 'o')]),
  'status components': merged(PERSISTENT, [s('out', 'o'), { name: 'max-count', kind: 'int' }]),
  'token create': merged(PERSISTENT, [s('role'), s('expiry'), b('wait')]),
  'token list': merged(PERSISTENT, [s('role')]),
  'token invalidate': merged(PERSISTENT),
  'kubeconfig admin': merged(PERSISTENT),
  'kubeconfig create': merged(PERSISTENT, [s('groups')]),
  'etcd leave': merged(PERSISTENT, [s('peer-address')]),
  'etcd member-list': merged(PERSISTENT),
  'config create': merged(PERSISTENT, [b('include-images')]),
  'config validate': merged(PERSISTENT, [s('config', 'c')]),
  'airgap list-images': merged(PERSISTENT, [b('all'), s('config', 'c')]),
  sysinfo: merged([b('controller'), b('worker'), s('data-dir')]),
  version: merged([b('all', 'a'), b('json', 'j')]),
};

/** Parent commands and the subcommands they hold (aliases resolved to the command they stand for). */
export const SUBCOMMANDS: Record<string, Record<string, string>> = {
  install: { controller: 'controller', server: 'controller', worker: 'worker' },
  token: { create: 'create', list: 'list', invalidate: 'invalidate' },
  kubeconfig: { admin: 'admin', create: 'create' },
  etcd: { leave: 'leave', 'member-list': 'member-list' },
  config: { create: 'create', validate: 'validate' },
  airgap: { 'list-images': 'list-images' },
  status: { components: 'components' },
};

export const ROOT_COMMANDS: Record<string, string> = {
  controller: 'controller',
  server: 'controller',
  worker: 'worker',
  install: 'install',
  start: 'start',
  stop: 'stop',
  reset: 'reset',
  status: 'status',
  token: 'token',
  kubeconfig: 'kubeconfig',
  etcd: 'etcd',
  config: 'config',
  airgap: 'airgap',
  sysinfo: 'sysinfo',
  version: 'version',
  kubectl: 'kubectl',
  kc: 'kubectl',
  ctr: 'ctr',
};

/** The components --disable-components knows in this minor. */
export function knownComponents(minor: number): string[] {
  const all = [
    'autopilot',
    'control-api',
    'coredns',
    'csr-approver',
    'endpoint-reconciler',
    'helm',
    'konnectivity-server',
    'kube-controller-manager',
    'kube-proxy',
    'kube-scheduler',
    'metrics-server',
    'network-provider',
    'node-role',
    'system-rbac',
    'worker-config',
  ];
  if (minor >= 29) all.push('applier-manager', 'windows-node');
  else all.push('api-config', 'kubelet-config');
  return all;
}

// The flags kubeadm 1.27–1.31 registers on each command the stand-in runs, including the persistent ones
// (--rootfs, klog's -v and its hidden flags), so anything else is refused with pflag's wording.
import type { FlagKind, FlagSpec } from './cobra-flags.js';

const f = (name: string, kind: FlagKind, short?: string): FlagSpec => ({
  name,
  kind,
  ...(short ? { short } : {}),
});
const B = 'bool';
const V = 'string';
const S = 'slice';
const D = 'duration';

const globalFlags: FlagSpec[] = [
  f('rootfs', V),
  f('v', V, 'v'),
  f('help', B, 'h'),
  f('add-dir-header', B),
  f('alsologtostderr', B),
  f('log-backtrace-at', V),
  f('log-dir', V),
  f('log-file', V),
  f('log-file-max-size', V),
  f('logtostderr', B),
  f('one-output', B),
  f('skip-headers', B),
  f('skip-log-headers', B),
  f('stderrthreshold', V),
  f('vmodule', V),
];

const outputFlags = [f('output', V, 'o'), f('allow-missing-template-keys', B), f('show-managed-fields', B)];

const initFlags: FlagSpec[] = [
  f('apiserver-advertise-address', V),
  f('apiserver-bind-port', 'int'),
  f('apiserver-cert-extra-sans', S),
  f('cert-dir', V),
  f('certificate-key', V),
  f('config', V),
  f('control-plane-endpoint', V),
  f('cri-socket', V),
  f('dry-run', B),
  f('feature-gates', V),
  f('ignore-preflight-errors', S),
  f('image-repository', V),
  f('kubernetes-version', V),
  f('node-name', V),
  f('patches', V),
  f('pod-network-cidr', V),
  f('service-cidr', V),
  f('service-dns-domain', V),
  f('skip-certificate-key-print', B),
  f('skip-phases', S),
  f('skip-token-print', B),
  f('token', V),
  f('token-ttl', D),
  f('upload-certs', B),
];

const joinFlags: FlagSpec[] = [
  f('apiserver-advertise-address', V),
  f('apiserver-bind-port', 'int'),
  f('certificate-key', V),
  f('config', V),
  f('control-plane', B),
  f('cri-socket', V),
  f('discovery-file', V),
  f('discovery-token', V),
  f('discovery-token-ca-cert-hash', S),
  f('discovery-token-unsafe-skip-ca-verification', B),
  f('dry-run', B),
  f('ignore-preflight-errors', S),
  f('node-name', V),
  f('patches', V),
  f('skip-phases', S),
  f('tls-bootstrap-token', V),
  f('token', V),
];

function resetFlags(minor: number): FlagSpec[] {
  const out = [
    f('cert-dir', V),
    f('cleanup-tmp-dir', B),
    f('cri-socket', V),
    f('dry-run', B),
    f('force', B, 'f'),
    f('ignore-preflight-errors', S),
    f('kubeconfig', V),
    f('skip-phases', S),
  ];
  // reset --config (a ResetConfiguration) arrived in 1.28
  if (minor >= 28) out.push(f('config', V));
  return out;
}

/** upgrade plan|apply|node of 1.<minor>: --feature-gates left 1.32, --config took an UpgradeConfiguration in 1.31. */
function upgradeFlags(sub: 'plan' | 'apply' | 'node', minor: number): FlagSpec[] {
  const common = [f('config', V), f('ignore-preflight-errors', S), f('kubeconfig', V)];
  const versions = [f('allow-experimental-upgrades', B), f('allow-release-candidate-upgrades', B)];
  const featureGates = minor <= 31 ? [f('feature-gates', V)] : [];
  if (sub === 'plan')
    return [
      ...common,
      ...versions,
      ...featureGates,
      f('etcd-upgrade', B),
      f('print-config', B),
      ...outputFlags,
    ];
  if (sub === 'apply')
    return [
      ...common,
      ...versions,
      ...featureGates,
      f('certificate-renewal', B),
      f('dry-run', B),
      f('etcd-upgrade', B),
      f('force', B, 'f'),
      f('patches', V),
      f('print-config', B),
      f('yes', B, 'y'),
    ];
  return [
    ...common,
    f('certificate-renewal', B),
    f('dry-run', B),
    f('etcd-upgrade', B),
    f('patches', V),
    f('skip-phases', S),
  ];
}

const tokenPersistent = [f('dry-run', B), f('kubeconfig', V)];

/** The flags of `kubeadm <path...>` for kubeadm 1.<minor>, or undefined for a command it lacks. */
export function commandFlags(path: string, minor: number): FlagSpec[] | undefined {
  const table: Record<string, FlagSpec[]> = {
    init: initFlags,
    'init phase upload-certs': [
      f('certificate-key', V),
      f('config', V),
      f('dry-run', B),
      f('kubeconfig', V),
      f('skip-certificate-key-print', B),
      f('upload-certs', B),
    ],
    join: joinFlags,
    'upgrade plan': upgradeFlags('plan', minor),
    'upgrade apply': upgradeFlags('apply', minor),
    'upgrade node': upgradeFlags('node', minor),
    reset: resetFlags(minor),
    'token create': [
      ...tokenPersistent,
      f('certificate-key', V),
      f('config', V),
      f('description', V),
      f('groups', S),
      f('print-join-command', B),
      f('ttl', D),
      f('usages', S),
    ],
    'token list': [...tokenPersistent, ...outputFlags],
    'token delete': tokenPersistent,
    'token generate': tokenPersistent,
    'certs check-expiration': [
      f('cert-dir', V),
      f('config', V),
      f('kubeconfig', V),
      // -o and its companions are 1.30+
      ...(minor >= 30 ? outputFlags : []),
    ],
    'certs certificate-key': [],
    version: [f('output', V, 'o')],
    'config images list': [
      f('config', V),
      f('feature-gates', V),
      f('image-repository', V),
      f('kubernetes-version', V),
      ...outputFlags,
    ],
  };
  const own = table[path];
  return own ? [...globalFlags, ...own] : undefined;
}

const MIXABLE_WITH_CONFIG = new Set([
  'config',
  'ignore-preflight-errors',
  'dry-run',
  'kubeconfig',
  'node-name',
  'kubeconfig-dir',
  'upload-certs',
  'print-join-command',
  'rootfs',
  'v',
  'log-file',
]);

/** The flags given next to --config that kubeadm refuses (`can not mix '--config' with arguments [...]`). */
export function mixedWithConfig(given: string[]): string[] {
  if (!given.includes('config')) return [];
  return given.filter((n) => !MIXABLE_WITH_CONFIG.has(n) && !n.startsWith('skip-')).sort();
}

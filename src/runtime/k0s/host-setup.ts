import { rememberIfAbsent } from '../../host/created-paths.js';
import { setHostsEntry } from '../../host/etc-hosts.js';
import { mirrorSecrets } from '../../registry/mirrors.js';
import { shellQuote } from '../../util/shell.js';
import { clusterDirOf } from '../kubeadm/host-paths.js';
import type { ClusterHost, RuntimeContext } from '../types.js';
import { configFile, createdRecord, k0sBin, tokenFile } from './host-paths.js';
import type { K0sState } from './state.js';

// What every k0s host gets before k0s runs on it: the registry's name, the k0s binary of the image, and the
// shell that puts a new /etc/k0s/k0s.yaml in place and says whether it changed.

export type K0sContext = RuntimeContext<K0sState>;

export const waitSeconds = 300;

export function master0(ctx: Pick<K0sContext, 'masters'>): ClusterHost {
  const m = ctx.masters[0];
  if (!m) throw new Error('a k0s cluster needs at least one controller');
  return m;
}

/** The k0s of the image in /usr/local/bin (where k0s's install script puts it), replaced only when it differs. */
export function installBinaryCommands(rootfsDir: string): string[] {
  const src = shellQuote(`${rootfsDir}/bin/k0s`);
  return [
    `[ -f ${src} ] || { echo "the cluster image has no bin/k0s (looked for ${src})" >&2; exit 1; }`,
    // /opt/containerd is the directory containerd's opt plugin makes at its first start
    ...['/etc/cni', '/opt/cni', '/var/lib/cni', '/opt/containerd', k0sBin].map((p) =>
      rememberIfAbsent(createdRecord, p),
    ),
    `if ! cmp -s ${src} ${k0sBin}; then install -m 0755 ${src} ${k0sBin}.new && mv -f ${k0sBin}.new ${k0sBin}; fi`,
  ];
}

export function registryNameCommand(ctx: K0sContext): string {
  return setHostsEntry(ctx.registry.hostIp, ctx.registry.domain);
}

/** Where the step stages k0s.yaml: moved over the real one by configSwapCommand. */
export const stagedConfig = `${configFile}.new`;

/** Puts the staged k0s.yaml in place; `$changed` is 1 when it differs from the one k0s runs with. */
export const configSwapCommand = `if cmp -s ${stagedConfig} ${configFile}; then rm -f ${stagedConfig}; changed=0; else mv -f ${stagedConfig} ${configFile}; changed=1; fi`;

/**
 * kubectl as berth runs it on a controller: k0s's own, with its discovery cache in the cluster's
 * directory (which reset removes) rather than root's ~/.kube.
 */
export function kubectl(ctx: Pick<K0sContext, 'rootfsDir'>): string {
  return `${k0sBin} kubectl --cache-dir ${shellQuote(`${clusterDirOf(ctx.rootfsDir)}/kube-cache`)}`;
}

/**
 * `lines` as one command that removes the join token however it ends, so that a failure of any of them
 * (the binary missing, a join timing out) leaves no token on the host.
 */
export function withTokenRemoved(lines: string[]): string {
  return [`trap 'rm -f ${tokenFile}' EXIT`, ...lines].join('\n');
}

export function secretsOf(ctx: K0sContext): string[] {
  return mirrorSecrets(ctx.registry);
}

/** Polls `test` every second for at most waitSeconds, then prints `failure` and exits 1. */
export function waitUntil(test: string, failure: string): string {
  return `i=0; until ${test}; do i=$((i + 1)); if [ $i -ge ${waitSeconds} ]; then echo ${shellQuote(failure)} >&2; exit 1; fi; sleep 1; done`;
}

/**
 * The system accounts `k0s install controller` makes and `k0s reset` deletes on every host, controller or
 * worker (spec.installConfig.users defaults).
 */
export const k0sAccounts = ['etcd', 'kube-apiserver', 'konnectivity-server', 'kube-scheduler'];
export const accountFiles = ['passwd', 'group', 'shadow', 'gshadow'];
/** Copies of the account files (and their `-` backups) from before k0s first ran on the host. */
export const savedAccountsDir = '/etc/berth/k0s-accounts';

/**
 * Keeps the account files as they were before k0s's first install on this host: `k0s reset` deletes its
 * accounts even where one existed before (a Debian etcd package's `etcd`), and userdel rewrites the `-`
 * backups, so reset puts these copies back when nothing else changed the files meanwhile.
 */
export const saveAccountsCommand = `if [ ! -d ${savedAccountsDir} ]; then mkdir -p ${savedAccountsDir} && for f in ${accountFiles.join(' ')}; do for s in '' -; do if [ -e "/etc/$f$s" ]; then cp -p "/etc/$f$s" ${savedAccountsDir}/; fi; done; done; fi`;

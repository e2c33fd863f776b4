import type { HostAction } from '../../host/action.js';
import { removeRemembered } from '../../host/created-paths.js';
import { removeHostsEntries } from '../../host/etc-hosts.js';
import { removeCniLinks, removeKubeIptables, unmountUnder } from '../../host/kube-leftovers.js';
import { removeService } from '../../host/services.js';
import type { RuntimeContext } from '../types.js';
import { controllerService } from './control-plane.js';
import { createdRecord, dataDir, etcDir, k0sBin, runDir } from './host-paths.js';
import { accountFiles, k0sAccounts, savedAccountsDir } from './host-setup.js';
import { workerService } from './workers.js';

// Undoing a k0s host: `k0s stop` and `k0s reset` (containers, services, the data and run directories, its
// CNI files and kube-bridge), then what k0s reset leaves by design or when it fails half-way: /etc/k0s
// (with berth's registry drop-in and token), the service definitions, containerd shims, mounts, the CNI
// links and iptables rules of kube-proxy and kube-router, the binary berth installed and berth's names in
// /etc/hosts (reference distributions/k0s.md §6).

/** What the driver's reset removes. */
export const k0sResetPaths = [
  etcDir,
  dataDir,
  runDir,
  '/usr/libexec/k0s',
  '/etc/cni/net.d/10-kuberouter.conflist',
  '/etc/cni/net.d/10-calico.conflist',
  '/etc/cni/net.d/calico-kubeconfig',
];

/**
 * After k0s reset: each account file back as it was before k0s's first install, when the only lines that
 * differ are those of k0s's accounts (anything else changed it meanwhile, and it is left alone).
 */
function restoreAccountsCommand(): string {
  const d = savedAccountsDir;
  return `if [ -d ${d} ]; then
re='^(${k0sAccounts.join('|')}):'
for f in ${accountFiles.join(' ')}; do
if [ -f "${d}/$f" ] && [ -f "/etc/$f" ]; then
if [ "$(grep -Ev "$re" "/etc/$f")" = "$(grep -Ev "$re" "${d}/$f")" ]; then
cp -p "${d}/$f" "/etc/$f"
if [ -e "${d}/$f-" ]; then cp -p "${d}/$f-" "/etc/$f-"; else rm -f "/etc/$f-"; fi
else
echo "/etc/$f changed since k0s was installed; its k0s accounts are left as k0s reset left them"
fi
fi
done
rm -rf ${d}
fi`;
}

export function resetAction(ctx: Pick<RuntimeContext, 'apiServerDomain' | 'registry'>): HostAction {
  return {
    description: 'remove k0s and everything it made',
    commands: [
      `if [ -x ${k0sBin} ]; then ${k0sBin} stop 2>/dev/null || :; ${k0sBin} reset 2>&1 || echo "k0s reset failed; removing its files anyway"; fi`,
      ...removeService(controllerService),
      ...removeService(workerService),
      // containerd shims outlive the service (they run in their own sessions)
      `for d in /proc/[0-9]*; do case "$(readlink "$d/exe" 2>/dev/null)" in ${dataDir}/bin/containerd-shim*) kill -9 "\${d#/proc/}" 2>/dev/null || : ;; esac; done`,
      unmountUnder([`${dataDir}/`, `${runDir}/`, '/run/netns/cni-']),
      removeCniLinks(),
      'ip link delete kube-bridge 2>/dev/null || :',
      ...removeKubeIptables(),
      restoreAccountsCommand(),
      `rm -rf ${k0sResetPaths.join(' ')}`,
      removeRemembered(createdRecord),
      removeHostsEntries(ctx.apiServerDomain),
      removeHostsEntries(ctx.registry.domain),
      'rmdir /etc/berth 2>/dev/null || :',
    ],
  };
}

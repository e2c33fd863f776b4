import type { HostAction } from '../../host/action.js';
import { resetBalancer } from '../../host/balancer.js';
import { removeRemembered } from '../../host/created-paths.js';
import { removeHostsEntries } from '../../host/etc-hosts.js';
import { removeCniLinks, removeKubeIptables, unmountUnder } from '../../host/kube-leftovers.js';
import { removeService } from '../../host/services.js';
import type { RuntimeContext } from '../types.js';
import { binDir, createdRecord, etcdDataDir, kubeDir, kubeletDir } from './host-paths.js';
import { kubeletMadeDirs, kubeletService } from './host-setup.js';

// Undoing a kubeadm host: `kubeadm reset -f` (which stops the kubelet, unmounts under /var/lib/kubelet,
// removes the containers and empties kubeadm's directories), then what it leaves by design: the CNI
// configuration and state, the iptables rules and IPVS tables of kube-proxy and the CNI plugins, the CNI
// links, the kubelet service, berth's balancer, the programs berth installed and the names in /etc/hosts.

/** kubeadm's and the kubelet's own directories: removed whole. */
const kubeadmDirs = [kubeDir, kubeletDir];

/**
 * What the driver's reset removes: kubeadm's directories, and those the control plane, CNI and kubelet
 * fill (host-setup.ts), which go only when berth found them absent (a machine's own etcd or CNI
 * configuration directory stays).
 */
export const kubeadmResetPaths = [...kubeadmDirs, ...kubeletMadeDirs];

export function resetAction(ctx: Pick<RuntimeContext, 'vip' | 'apiServerDomain' | 'registry'>): HostAction {
  const lb = resetBalancer(ctx.vip);
  return {
    description: 'remove kubeadm, the kubelet and everything they made',
    commands: [
      `if [ -x ${binDir}/kubeadm ]; then ${binDir}/kubeadm reset -f 2>&1 || echo "kubeadm reset failed; removing its files anyway"; fi`,
      ...removeService(kubeletService.name),
      unmountUnder([kubeletDir, '/run/netns/cni-']),
      // kube-proxy in IPVS mode leaves its virtual servers; kube-ipvs0 says it ran here
      'if ip link show kube-ipvs0 >/dev/null 2>&1 && command -v ipvsadm >/dev/null 2>&1; then ipvsadm --clear; fi',
      removeCniLinks(),
      ...removeKubeIptables(),
      ...(lb.commands ?? []),
      // kubeadm reset empties the etcd data directory; it may not have run (the image's clean hook can take
      // kubeadm away first), and the directory itself may be the machine's
      `rm -rf ${kubeadmDirs.join(' ')} ${etcdDataDir}/member`,
      removeRemembered(createdRecord),
      removeHostsEntries(ctx.apiServerDomain),
      removeHostsEntries(ctx.registry.domain),
      'rmdir /etc/berth 2>/dev/null || :',
    ],
  };
}

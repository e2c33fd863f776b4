import { shellQuote } from '../../util/shell.js';
import type { ClusterHost, HostStep } from '../types.js';

// berth's checks of a host before kubeadm runs there, the ones kubeadm's preflight makes (swap, the ports
// the control plane and kubelet bind, the overlay and br_netfilter modules, the bridge and forwarding
// sysctls), but with every failure named at once and with the command that fixes it. They read what the
// host really has (/proc/swaps, /proc/net/tcp, /proc/filesystems, /proc/sys): a container or sandbox host
// shares its machine's kernel and may not change it, and then the fix is said to belong on that machine.

/** Ports kubeadm's preflight wants free: API server, etcd client and peer, kubelet, controller-manager, scheduler. */
export const controlPlanePorts = [6443, 2379, 2380, 10250, 10257, 10259];
export const workerPorts = [10250];

export type HostRole = 'control-plane' | 'worker';

/**
 * The sh that prints every failed check on one line (`[Check] what: fix; ...`) and exits 1, else nothing.
 * `root` prefixes every path read, so a test can give it a host's /proc of its making.
 */
export function hostChecksScript(role: HostRole, apiPort = 6443, root = ''): string {
  const ports =
    role === 'control-plane' ? [apiPort, ...controlPlanePorts.filter((p) => p !== 6443)] : workerPorts;
  const r = root ? shellQuote(root) : '';
  const machine = ' on the machine that runs this host (its kernel settings are read-only here)';
  return `failed=''
fail() { failed="\${failed:+$failed; }$1"; }
listening() {
  hex=$(printf '%04X' "$1")
  for f in ${r}/proc/net/tcp ${r}/proc/net/tcp6; do
    [ -r "$f" ] && awk -v p="$hex" 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); if (a[n] == p) found = 1 } END { exit !found }' "$f" && return 0
  done
  return 1
}
# a fix that changes the kernel must be made where the kernel is writable
where() { if [ -w "$1" ]; then :; else printf '%s' ${JSON.stringify(machine)}; fi; }
if [ "$(awk 'NR > 1' ${r}/proc/swaps 2>/dev/null | wc -l)" -gt 0 ]; then
  fail "[Swap] swap is on: run swapoff -a and remove the swap entries from /etc/fstab$(where ${r}/proc/sys/vm/swappiness)"
fi
for port in ${ports.join(' ')}; do
  if listening "$port"; then fail "[Port-$port] port $port is in use: stop what listens there (ss -ltnp 'sport = :$port')"; fi
done
if ! grep -qw overlay ${r}/proc/filesystems 2>/dev/null; then
  fail "[Module-overlay] kernel module overlay is not loaded: run modprobe overlay$(where ${r}/proc/sys/vm/swappiness)"
fi
bridge=${r}/proc/sys/net/bridge/bridge-nf-call-iptables
if [ ! -e "$bridge" ]; then
  fail "[Module-br_netfilter] kernel module br_netfilter is not loaded (no /proc/sys/net/bridge/bridge-nf-call-iptables): run modprobe br_netfilter$(where ${r}/proc/sys/vm/swappiness)"
elif [ "$(cat "$bridge")" != 1 ]; then
  fail "[Sysctl-net.bridge.bridge-nf-call-iptables] net.bridge.bridge-nf-call-iptables is $(cat "$bridge"), not 1: run sysctl -w net.bridge.bridge-nf-call-iptables=1 and keep it in /etc/sysctl.d/$(where "$bridge")"
fi
forward=${r}/proc/sys/net/ipv4/ip_forward
if [ "$(cat "$forward" 2>/dev/null)" != 1 ]; then
  fail "[Sysctl-net.ipv4.ip_forward] net.ipv4.ip_forward is $(cat "$forward" 2>/dev/null || echo unreadable), not 1: run sysctl -w net.ipv4.ip_forward=1 and keep it in /etc/sysctl.d/$(where "$forward")"
fi
if [ -n "$failed" ]; then echo "$failed" >&2; exit 1; fi`;
}

/** The checks of `host` as a journaled step: once passed, kubeadm's own pieces hold those ports. */
export function hostChecksStep(host: ClusterHost, role: HostRole, apiPort: number): HostStep {
  return {
    host: host.ip,
    id: 'kubeadm-checks',
    description: `check ${host.ip} as kubeadm's preflight does (swap, ports, kernel modules, sysctls)`,
    commands: [hostChecksScript(role, apiPort)],
    // the checks, once passed, must not run again on an installed host whatever berth version plans them
    inputs: { kubeadmChecks: role },
    failure: 'kubeadm host checks',
  };
}

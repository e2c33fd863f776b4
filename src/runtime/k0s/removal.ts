import { shellQuote } from '../../util/shell.js';
import { forgetNodeStep, removeNodeStep } from '../remove-node.js';
import type { ClusterHost, HostStep } from '../types.js';
import { k0sBin } from './host-paths.js';
import { type K0sContext, kubectl, master0 } from './host-setup.js';
import { resetAction } from './reset.js';

// Hosts leaving the cluster: the Node drained and deleted through a controller that stays; a departing
// controller's etcd member removed through that controller with `k0s etcd leave --peer-address` (a stale
// member counts against quorum), every departing one before any is reset; then `k0s stop` and `k0s reset`
// on the host itself, and the Node deleted again.

/**
 * The departing controllers' etcd members removed through `via`, in whatever order etcd accepts: it refuses
 * to remove a running member while a stopped one would then cost the quorum, so a member refused is tried
 * again after the others (the stopped one goes first, then the running one), a bounded number of rounds.
 */
function leaveEtcdStep(via: ClusterHost, hosts: ClusterHost[]): HostStep {
  const ips = hosts.map((h) => h.ip);
  return {
    host: via.ip,
    id: `leave-etcd-${ips.join(',')}`,
    always: true,
    description: `remove the etcd members of ${ips.join(', ')} through ${via.ip}`,
    commands: [
      `pending=${shellQuote(ips.join(' '))}
round=0
while [ -n "$pending" ] && [ $round -le ${ips.length} ]; do
round=$((round + 1)); left=
for ip in $pending; do
if ! ${k0sBin} etcd member-list | grep -qF "\\"https://$ip:2380\\""; then echo "$ip has no etcd member (left already)"
elif ${k0sBin} etcd leave --peer-address="$ip"; then echo "$ip left etcd"
else left="$left $ip"; fi
done
pending=\${left# }
if [ -n "$pending" ]; then sleep 2; fi
done
if [ -n "$pending" ]; then echo "${via.ip}: etcd did not let $pending leave; see ${k0sBin} etcd member-list there" >&2; exit 1; fi`,
    ],
    failure: `removing the etcd members of ${ips.join(', ')}`,
  };
}

function resetStep(ctx: K0sContext, host: ClusterHost): HostStep {
  return { host: host.ip, id: 'reset', always: true, ...resetAction(ctx) };
}

export function deleteWorkerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  const via = master0(ctx);
  const k = kubectl(ctx);
  return hosts.flatMap((h) => [
    removeNodeStep(k, via, h, h.hostname),
    resetStep(ctx, h),
    forgetNodeStep(k, via, h, h.hostname),
  ]);
}

export function deleteControllerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  if (hosts.length === 0) return [];
  const leaving = new Set(hosts.map((h) => h.ip));
  const via = ctx.masters.find((m) => !leaving.has(m.ip));
  if (!via) throw new Error('deleting every controller leaves no cluster to remove them from');
  const k = kubectl(ctx);
  return [
    ...hosts.map((h) => removeNodeStep(k, via, h, h.hostname)),
    leaveEtcdStep(via, hosts),
    ...hosts.map((h) => resetStep(ctx, h)),
    // a controller's kubelet registers its Node again while the other controllers leave etcd
    ...hosts.map((h) => forgetNodeStep(k, via, h, h.hostname)),
  ];
}

import { shellQuote } from '../../util/shell.js';
import { forgetNodeStep, removeNodeStep } from '../remove-node.js';
import type { ClusterHost, HostStep } from '../types.js';
import { nodeName } from './config/index.js';
import { type KubeadmContext, master0 } from './control-plane.js';
import { clusterDirOf, pkiDir } from './host-paths.js';
import { kubectlCommand } from './kubeadm-command.js';
import { resetAction } from './reset.js';

// Hosts leaving the cluster: the Node drained and deleted through a master that stays; a departing master's
// etcd member removed through that master's etcd as well (a stale member counts against quorum, so two
// masters left of three would stop at the next failure); then the host reset and the Node deleted again.

/** The etcdctl berth uses on a master: the host's own, else one the image carries. */
function findEtcdctl(rootfsDir: string, via: string): string {
  const candidates = [`${rootfsDir}/bin/etcdctl`, `${rootfsDir}/opt/etcdctl`].map(shellQuote).join(' ');
  return `etcdctl=$(command -v etcdctl || :)
if [ -z "$etcdctl" ]; then for c in ${candidates}; do if [ -x "$c" ]; then etcdctl=$c; break; fi; done; fi
if [ -z "$etcdctl" ]; then echo "${via}: no etcdctl to remove the etcd member with; put etcdctl on the PATH of ${via} or in the image's bin/" >&2; exit 1; fi`;
}

/**
 * Rounds of 2 s in which etcd may answer `unhealthy cluster`: it refuses a removal that would leave fewer
 * members connected for 5 s than the quorum needs, which a member that just came back is not yet.
 */
const unhealthyRounds = 30;

function removeEtcdMemberStep(ctx: KubeadmContext, via: ClusterHost, host: ClusterHost): HostStep {
  const peerUrl = `https://${host.ip}:2380`;
  return {
    host: via.ip,
    id: `remove-etcd-member-${host.ip}`,
    always: true,
    description: `remove ${host.ip}'s etcd member through ${via.ip}`,
    commands: [
      `${findEtcdctl(ctx.rootfsDir, via.ip)}
e() { ETCDCTL_API=3 "$etcdctl" --endpoints=https://127.0.0.1:2379 --cacert=${pkiDir}/etcd/ca.crt --cert=${pkiDir}/etcd/healthcheck-client.crt --key=${pkiDir}/etcd/healthcheck-client.key --command-timeout=15s "$@"; }
members=$(e member list)
id=$(printf '%s\\n' "$members" | awk -F', ' -v u=${shellQuote(peerUrl)} '{ for (i = 2; i <= NF; i++) if ($i == u) print $1 }')
if [ -z "$id" ]; then echo "${host.ip} has no etcd member (left already)"; exit 0; fi
i=0
until out=$(e member remove "$id" 2>&1); do
  case "$out" in *'unhealthy cluster'*) ;; *) echo "$out" >&2; exit 1 ;; esac
  i=$((i + 1))
  if [ $i -ge ${unhealthyRounds} ]; then echo "$out" >&2; echo "${via.ip}: etcd still refuses to remove ${host.ip}'s member after ${unhealthyRounds * 2} s: another member is down or just came back; see etcdctl endpoint health there" >&2; exit 1; fi
  sleep 2
done
echo "$out"`,
    ],
    failure: `removing ${host.ip}'s etcd member`,
  };
}

function resetStep(ctx: KubeadmContext, host: ClusterHost): HostStep {
  return { host: host.ip, id: 'reset', always: true, ...resetAction(ctx) };
}

export function deleteWorkerSteps(ctx: KubeadmContext, hosts: ClusterHost[]): HostStep[] {
  const via = master0(ctx);
  const k = kubectlCommand(clusterDirOf(ctx.rootfsDir));
  return hosts.flatMap((h) => [
    removeNodeStep(k, via, h, nodeName(h)),
    resetStep(ctx, h),
    forgetNodeStep(k, via, h, nodeName(h)),
  ]);
}

export function deleteMasterSteps(ctx: KubeadmContext, hosts: ClusterHost[]): HostStep[] {
  const leaving = new Set(hosts.map((h) => h.ip));
  const via = ctx.masters.find((m) => !leaving.has(m.ip));
  if (!via) throw new Error('deleting every master leaves no cluster to remove them from');
  const k = kubectlCommand(clusterDirOf(ctx.rootfsDir));
  return hosts.flatMap((h) => [
    removeNodeStep(k, via, h, nodeName(h)),
    removeEtcdMemberStep(ctx, via, h),
    resetStep(ctx, h),
    forgetNodeStep(k, via, h, nodeName(h)),
  ]);
}

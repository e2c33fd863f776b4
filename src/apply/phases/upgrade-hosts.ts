import type { KubeVersion } from '../../runtime/kube-version.js';
import { nodeNameByIp } from '../../runtime/remove-node.js';
import { shellQuote } from '../../util/shell.js';
import type { ChangePhase, PlannedStep } from '../phase.js';
import { clusterHost, type PlannedCluster } from '../planned-cluster.js';

// A Kubernetes upgrade of a running cluster, after the new rootfs has reached the hosts: one host at a time,
// the masters first in their order, then the nodes, each cordoned and drained through the first master,
// moved to the new version by the driver, uncordoned, and waited for until its Node is Ready on that
// version. Every step id names the target version, so a run cut short resumes at the step it stopped in and
// a later upgrade to another version is not taken as done.

/** Seconds a drain may take before the upgrade stops with its error. */
const drainSeconds = 300;
const defaultReadySeconds = 300;

const release = (v: KubeVersion) => `v${v.major}.${v.minor}.${v.patch}`;

/** kubectl on the first master with the admin kubeconfig the driver keeps there. */
function kubectlOn(c: PlannedCluster): string {
  const kubeconfig = c.runtime.kubeconfig(c.runtimeCtx).remotePath;
  return `kubectl --kubeconfig ${shellQuote(kubeconfig)} --cache-dir ${shellQuote(`${c.remoteDir}/kube-cache`)}`;
}

/** Shell that sets $node to the Node registered for `ip`, or fails naming it. */
function findNode(kubectl: string, ip: string): string {
  return `command -v kubectl >/dev/null 2>&1 || { echo "no kubectl on the first master to drain ${ip} with" >&2; exit 1; }
node=$(${nodeNameByIp(kubectl, ip)})
[ -n "$node" ] || { echo "no Node of the cluster has the address ${ip}" >&2; exit 1; }`;
}

function hostSteps(c: PlannedCluster, ip: string, readySeconds: number): PlannedStep[] {
  const upgrade = c.upgrade;
  const m0 = c.masters[0];
  const resolved = c.hosts.find((h) => h.ip === ip);
  if (!upgrade || !m0 || !resolved || !c.runtime.upgrade) return [];
  const to = release(upgrade.to);
  const kubectl = kubectlOn(c);
  const onMaster0 = (id: string, description: string, command: string, failure: string): PlannedStep => ({
    host: m0.ip,
    id: `${id}-${ip}-${to}`,
    description,
    inputs: { [id]: ip, to },
    commands: [`${findNode(kubectl, ip)}\n${command}`],
    failure,
  });
  return [
    onMaster0(
      'drain',
      `cordon and drain ${ip} for the upgrade to ${to}`,
      `${kubectl} drain "$node" --ignore-daemonsets --delete-emptydir-data --force --timeout=${drainSeconds}s`,
      `draining ${ip} for the upgrade to ${to}`,
    ),
    ...c.runtime.upgrade(c.runtimeCtx, clusterHost(c.facts, resolved), upgrade.from),
    onMaster0('uncordon', `uncordon ${ip}`, `${kubectl} uncordon "$node"`, `uncordoning ${ip}`),
    onMaster0(
      'ready',
      `wait until ${ip} is Ready on ${to}`,
      `i=0
while :; do
  s=$(${kubectl} get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion}' 2>/dev/null || :)
  case "$s" in "True ${to}"*) echo "$node is Ready on \${s#True }"; break ;; esac
  i=$((i + 1))
  if [ $i -ge ${readySeconds} ]; then echo "$node is not Ready on ${to} after ${readySeconds} s (Ready, version: \${s:-unknown})" >&2; exit 1; fi
  sleep 1
done`,
      `waiting for ${ip} to be Ready on ${to}`,
    ),
  ];
}

export const upgradeHosts: ChangePhase = {
  title: 'upgrade Kubernetes, one host at a time',
  plan: (c) => ({
    order: 'sequential',
    steps: (c.upgrade?.hosts ?? []).flatMap((h) => hostSteps(c, h.ip, defaultReadySeconds)),
  }),
};

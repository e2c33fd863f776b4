import { shellQuote } from '../util/shell.js';
import type { ClusterHost, HostStep } from './types.js';

// Taking a departing host's Node out of the cluster through a master that stays: drained (bounded, so a
// stuck pod cannot hold the removal) and deleted before the host is reset, then deleted once more after
// it: the host's kubelet keeps running until the reset and registers the Node again when it sees it gone.
// `kubectl` is the command line that reaches the API on that master.

/** Shell that prints the Kubernetes node name registered for `ip` (empty when none). */
export function nodeNameByIp(kubectl: string, ip: string): string {
  const jsonpath = `{range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}`;
  return `${kubectl} get nodes -o jsonpath=${shellQuote(jsonpath)} | awk -v ip=${shellQuote(ip)} '$2 == ip { print $1 }'`;
}

/** A step on `via` that runs `onNode` (shell using "$name") when `host` has a Node. */
function nodeStep(
  kubectl: string,
  via: ClusterHost,
  host: ClusterHost,
  name: string | undefined,
  step: { id: string; description: string; onNode: string },
): HostStep {
  const n = name ? shellQuote(name) : `"$(${nodeNameByIp(kubectl, host.ip)})"`;
  return {
    host: via.ip,
    id: step.id,
    always: true,
    description: step.description,
    commands: [`name=${n}; if [ -n "$name" ]; then ${step.onNode}; fi`],
  };
}

/** Drains and deletes the Node of `host` (named by `name`, else found by its address) before its reset. */
export function removeNodeStep(
  kubectl: string,
  via: ClusterHost,
  host: ClusterHost,
  name?: string,
): HostStep {
  return nodeStep(kubectl, via, host, name, {
    id: `remove-node-${host.ip}`,
    description: `drain and delete node ${host.ip} through ${via.ip}`,
    onNode: `${kubectl} drain "$name" --ignore-daemonsets --delete-emptydir-data --force --timeout=120s || :; ${kubectl} delete node "$name" --ignore-not-found`,
  });
}

/** Deletes the Node of `host` again once the host's reset has stopped its kubelet. */
export function forgetNodeStep(
  kubectl: string,
  via: ClusterHost,
  host: ClusterHost,
  name?: string,
): HostStep {
  return nodeStep(kubectl, via, host, name, {
    id: `forget-node-${host.ip}`,
    description: `delete node ${host.ip} again through ${via.ip}, its kubelet gone`,
    onNode: `${kubectl} delete node "$name" --ignore-not-found`,
  });
}

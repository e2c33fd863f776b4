import { shellQuote } from '../util/shell.js';
import type { ClusterHost } from './types.js';

// Taking a departing host's Node out of the cluster through a master that stays: drained (bounded, so a
// stuck pod cannot hold the removal), then deleted. `kubectl` is the command line that reaches the API on
// that master.

/** Shell that prints the Kubernetes node name registered for `ip` (empty when none). */
export function nodeNameByIp(kubectl: string, ip: string): string {
  const jsonpath = `{range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}`;
  return `${kubectl} get nodes -o jsonpath=${shellQuote(jsonpath)} | awk -v ip=${shellQuote(ip)} '$2 == ip { print $1 }'`;
}

/** Drains and deletes the Node of `host`: named by `name` when known, else found by its address. */
export function removeNodeCommand(kubectl: string, host: ClusterHost, name?: string): string {
  const n = name ? shellQuote(name) : `"$(${nodeNameByIp(kubectl, host.ip)})"`;
  return `name=${n}; if [ -n "$name" ]; then ${kubectl} drain "$name" --ignore-daemonsets --delete-emptydir-data --force --timeout=120s || :; ${kubectl} delete node "$name" --ignore-not-found; fi`;
}

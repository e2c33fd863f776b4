import { shellQuote } from '../util/shell.js';

// What a kubelet, its CNI plugins and kube-proxy leave on a host whichever distribution ran them: mounts
// under the kubelet's directories, CNI network namespaces and links, and the iptables chains kube-proxy,
// the CNI plugins and flannel made. Each distribution's reset runs these after stopping its services.

/** Unmounts every mount whose path starts with one of `prefixes`, deepest first (lazily when busy). */
export function unmountUnder(prefixes: readonly string[]): string {
  return `awk '{ print $2 }' /proc/self/mounts | grep -E ${shellQuote(`^(${prefixes.join('|')})`)} | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done`;
}

/** Links CNI plugins and kube-proxy create; each is deleted when present. */
export const kubeLinks = ['cni0', 'flannel.1', 'flannel-v6.1', 'flannel-wg', 'flannel-wg-v6', 'kube-ipvs0'];

/** CNI network namespaces, the veths on the cni0 bridge, then the links above. */
export function removeCniLinks(): string {
  return `if command -v ip >/dev/null 2>&1; then
for n in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }'); do ip netns delete "$n"; done
for l in $(ip -o link show master cni0 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do ip link delete "$l" 2>/dev/null || :; done
for l in ${kubeLinks.join(' ')}; do ip link delete "$l" 2>/dev/null || :; done
fi`;
}

/** Drops every iptables and ip6tables rule and chain naming KUBE-, CNI- or flannel, leaving the rest. */
export function removeKubeIptables(): string[] {
  const ipt = (tool: string) =>
    `if command -v ${tool}-save >/dev/null 2>&1 && ${tool}-save | grep -qiE 'KUBE-|CNI-|flannel'; then ${tool}-save | grep -v KUBE- | grep -v CNI- | grep -iv flannel | ${tool}-restore; fi`;
  return [ipt('iptables'), ipt('ip6tables')];
}

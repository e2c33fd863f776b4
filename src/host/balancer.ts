// Node-local API balancing without IPVS and without pods: connections to <vip>:<port> are DNATed by a
// dedicated nat chain to one of the healthy masters, spread evenly with `statistic --mode nth`. A small sh
// service probes every master each 2 s and rewrites the chain (atomically, with iptables-restore
// --noflush of that chain alone) only when the healthy set changes.
//
// Probing: dash has no /dev/tcp and busybox nc has no -z, so the probe uses `nc -z -w1` when the host's
// nc supports -z, else bash's /dev/tcp under `timeout`, else busybox nc under `timeout`.

import { shellQuote } from '../util/shell.js';
import type { HostAction } from './action.js';
import { installService, removeService, type ServiceLayout } from './services.js';
import { tcpProbeFunction } from './wait-port.js';

export const balancerServiceName = 'berth-apiserver-lb';
export const balancerChain = 'BERTH-APISERVER';

export interface BalancerConfig {
  vip: string;
  /** The port served on the VIP and by every master. */
  port: number;
  /** This node's own address; local connects to the VIP leave with it as source. */
  nodeIp: string;
  masters: string[];
}

export interface BalancerLayout extends ServiceLayout {}

export function balancerPaths(layout: BalancerLayout = { root: '' }) {
  return {
    script: `${layout.root}/usr/local/lib/berth/apiserver-lb`,
    conf: `${layout.root}/etc/berth/apiserver-lb.conf`,
  };
}

function checkIp(what: string, ip: string): void {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip))
    throw new Error(`balancer ${what} ${JSON.stringify(ip)} is not an IPv4 address`);
}

export function balancerConf(c: BalancerConfig): string {
  checkIp('vip', c.vip);
  checkIp('node address', c.nodeIp);
  for (const m of c.masters) checkIp('master', m);
  if (c.masters.length === 0) throw new Error('balancer needs at least one master');
  return [
    '# node-local API balancer (written by berth; rewritten when masters change)',
    `vip ${c.vip}`,
    `port ${c.port}`,
    `node-ip ${c.nodeIp}`,
    ...c.masters.map((m) => `master ${m}`),
    '',
  ].join('\n');
}

/** The balancer loop; `--rules PORT BACKEND...` prints the iptables-restore input instead. */
export function balancerScript(): string {
  const chain = balancerChain;
  return `#!/bin/sh
# berth node-local API balancer: keeps nat chain ${chain} pointing at the healthy masters.
# usage: apiserver-lb CONF | apiserver-lb --rules PORT BACKEND...
set -u
chain=${chain}

# iptables-restore input replacing only our chain: one DNAT per backend; rule i of n takes every
# (n-i)th connection reaching it, so each backend gets 1/n of new connections.
rules() {
  port=$1
  shift
  n=$#
  i=0
  echo '*nat'
  echo ":$chain - [0:0]"
  for b in "$@"; do
    left=$((n - i))
    if [ $left -gt 1 ]; then
      echo "-A $chain -p tcp -m statistic --mode nth --every $left --packet 0 -j DNAT --to-destination $b:$port"
    else
      echo "-A $chain -p tcp -j DNAT --to-destination $b:$port"
    fi
    i=$((i + 1))
  done
  echo COMMIT
}

if [ "\${1:-}" = --rules ]; then
  shift
  rules "$@"
  exit 0
fi

conf=$1
${tcpProbeFunction}

read_conf() {
  vip='' port='' node_ip='' masters=''
  while read -r key value _; do
    case $key in
    vip) vip=$value ;;
    port) port=$value ;;
    node-ip) node_ip=$value ;;
    master) masters="$masters $value" ;;
    esac
  done <"$conf"
  [ -n "$vip" ] && [ -n "$port" ] && [ -n "$node_ip" ] && [ -n "$masters" ]
}

hook_spec() { echo "-d $1/32 -p tcp --dport $2 -j $chain"; }

hooked() {
  # shellcheck disable=SC2046
  iptables -w -t nat -C OUTPUT $(hook_spec "$vip" "$port") 2>/dev/null &&
    iptables -w -t nat -C PREROUTING $(hook_spec "$vip" "$port") 2>/dev/null
}

hook() {
  iptables -w -t nat -N $chain 2>/dev/null || :
  for h in OUTPUT PREROUTING; do
    iptables -w -t nat -C $h $(hook_spec "$vip" "$port") 2>/dev/null ||
      iptables -w -t nat -I $h 1 $(hook_spec "$vip" "$port")
  done
  dev=$(ip -o -4 addr show | awk -v a="$node_ip" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }')
  if [ -z "$dev" ]; then
    echo "apiserver-lb: no interface holds the node address $node_ip (from $conf)"
    return 1
  fi
  # a route makes connects to the VIP possible at all, and picks the node's address as their source
  ip route replace "$vip/32" dev "$dev" src "$node_ip"
}

unhook() {
  for h in OUTPUT PREROUTING; do
    while iptables -w -t nat -D $h $(hook_spec "$1" "$2") 2>/dev/null; do :; done
  done
  ip route del "$1/32" 2>/dev/null || :
}

# probes run in parallel and report on stdout, not in files: a service stopped mid-probe then leaves
# nothing behind on the host
trap 'exit 0' TERM INT

healthy_masters() {
  up=$(for m in $masters; do (probe "$m" "$port" && echo "$m") & done; wait)
  out=''
  # the configured order, so an unchanged healthy set gives unchanged rules
  for m in $masters; do
    case " $(echo $up) " in *" $m "*) out="$out $m" ;; esac
  done
  echo $out
}

last_conf='' applied='' old_vip='' old_port=''
while :; do
  cur=$(cat "$conf" 2>/dev/null || :)
  if [ "$cur" != "$last_conf" ] || ! hooked; then
    if read_conf; then
      if [ -n "$old_vip" ] && { [ "$old_vip" != "$vip" ] || [ "$old_port" != "$port" ]; }; then
        unhook "$old_vip" "$old_port"
      fi
      if hook; then
        last_conf=$cur old_vip=$vip old_port=$port applied=''
      fi
    else
      echo "apiserver-lb: $conf lacks vip, port, node-ip or master lines"
    fi
  fi
  if [ -n "$last_conf" ]; then
    up=$(healthy_masters)
    # with no master answering, keep all of them: one may come back before the next probe
    [ -n "$up" ] || up=$(echo $masters)
    if [ "$up" != "$applied" ]; then
      # shellcheck disable=SC2086
      if rules "$port" $up | iptables-restore -w --noflush; then
        applied=$up
        echo "apiserver-lb: $(date -u +%FT%TZ) $vip:$port -> $up"
      fi
    fi
  fi
  sleep 2
done
`;
}

/** Installs (or updates) the balancer on a node; an unchanged service keeps running, a new conf is read within 2 s. */
export function installBalancer(c: BalancerConfig, layout: BalancerLayout = { root: '' }): HostAction {
  const p = balancerPaths(layout);
  const service = installService(
    {
      name: balancerServiceName,
      description: 'berth node-local Kubernetes API balancer',
      command: `sh ${shellQuote(p.script)} ${shellQuote(p.conf)}`,
    },
    layout,
  );
  return {
    description: `balance ${c.vip}:${c.port} over ${c.masters.join(', ')}`,
    files: [
      { path: p.script, content: balancerScript(), mode: 0o755 },
      { path: p.conf, content: balancerConf(c), mode: 0o644 },
      ...(service.files ?? []),
    ],
    commands: service.commands,
  };
}

/**
 * Removes the service, the chain and its hooks (whatever VIP they name), the VIP route and the files.
 * `vip` is the cluster's VIP, used when the conf file is already gone.
 */
export function resetBalancer(vip: string, layout: BalancerLayout = { root: '' }): HostAction {
  checkIp('vip', vip);
  const p = balancerPaths(layout);
  const chain = balancerChain;
  return {
    description: 'remove the node-local API balancer',
    commands: [
      ...removeService(balancerServiceName, layout),
      `if command -v iptables-save >/dev/null 2>&1; then
iptables-save -t nat | grep -E '^-A (OUTPUT|PREROUTING) .*-j ${chain}$' | sed 's/^-A /-D /' | while read -r rule; do
  iptables -w -t nat $rule
done
iptables -w -t nat -F ${chain} 2>/dev/null || :
iptables -w -t nat -X ${chain} 2>/dev/null || :
fi`,
      `for v in ${shellQuote(vip)} $(awk '$1 == "vip" { print $2 }' ${shellQuote(p.conf)} 2>/dev/null); do
  ip route del "$v/32" 2>/dev/null || :
done`,
      `rm -f ${shellQuote(p.script)} ${shellQuote(p.conf)}`,
      `rmdir ${shellQuote(p.script.slice(0, p.script.lastIndexOf('/')))} ${shellQuote(p.conf.slice(0, p.conf.lastIndexOf('/')))} 2>/dev/null || :`,
    ],
  };
}

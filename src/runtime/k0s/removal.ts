import { shellQuote } from '../../util/shell.js';
import { removeNodeCommand } from '../remove-node.js';
import type { ClusterHost, HostStep } from '../types.js';
import { k0sBin } from './host-paths.js';
import { type K0sContext, kubectl, master0 } from './host-setup.js';
import { resetAction } from './reset.js';

// Hosts leaving the cluster: the Node drained and deleted through a controller that stays; a departing
// controller's etcd member removed through that controller with `k0s etcd leave --peer-address` (a stale
// member counts against quorum); then `k0s stop` and `k0s reset` on the host itself.

function removeNodeStep(ctx: K0sContext, via: ClusterHost, host: ClusterHost): HostStep {
  return {
    host: via.ip,
    id: `remove-node-${host.ip}`,
    always: true,
    description: `drain and delete node ${host.ip} through ${via.ip}`,
    commands: [removeNodeCommand(kubectl(ctx), host, host.hostname)],
  };
}

function leaveEtcdStep(via: ClusterHost, host: ClusterHost): HostStep {
  const peerUrl = `https://${host.ip}:2380`;
  return {
    host: via.ip,
    id: `leave-etcd-${host.ip}`,
    always: true,
    description: `remove ${host.ip}'s etcd member through ${via.ip}`,
    commands: [
      `if ${k0sBin} etcd member-list | grep -qF ${shellQuote(`"${peerUrl}"`)}; then ${k0sBin} etcd leave --peer-address=${host.ip}; else echo "${host.ip} has no etcd member (left already)"; fi`,
    ],
    failure: `removing ${host.ip}'s etcd member`,
  };
}

function resetStep(ctx: K0sContext, host: ClusterHost): HostStep {
  return { host: host.ip, id: 'reset', always: true, ...resetAction(ctx) };
}

export function deleteWorkerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  const via = master0(ctx);
  return hosts.flatMap((h) => [removeNodeStep(ctx, via, h), resetStep(ctx, h)]);
}

export function deleteControllerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  const leaving = new Set(hosts.map((h) => h.ip));
  const via = ctx.masters.find((m) => !leaving.has(m.ip));
  if (!via) throw new Error('deleting every controller leaves no cluster to remove them from');
  return hosts.flatMap((h) => [removeNodeStep(ctx, via, h), leaveEtcdStep(via, h), resetStep(ctx, h)]);
}

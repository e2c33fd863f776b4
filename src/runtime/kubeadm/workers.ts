import type { HostAction } from '../../host/action.js';
import { installBalancer } from '../../host/balancer.js';
import { setHostsEntry } from '../../host/etc-hosts.js';
import { mirrorSecrets } from '../../registry/mirrors.js';
import type { ClusterHost, HostStep } from '../types.js';
import { clusterConfig } from './cluster-config.js';
import {
  bootstrapTokenStep,
  dropConfigCommand,
  endpointOf,
  joinToken,
  type KubeadmContext,
  resetLeftoversCommand,
  tokenSecrets,
} from './control-plane.js';
import { hostChecksStep } from './host-checks.js';
import { clusterDirOf, joinConfigFile, kubeletConf } from './host-paths.js';
import { installProgramsAction, kubeletStartFunction } from './host-setup.js';
import { kubeadmCommand } from './kubeadm-command.js';
import { caCertHash } from './pki/index.js';

// Workers: each reaches the API through its node-local balancer (apiserver.cluster.local is the VIP there,
// spread over every master), joins with the bootstrap token and the hash of the CA berth made, and gets no
// certificate from berth: its kubelet's come from the cluster's TLS bootstrap. They join in parallel.

/** The worker's balancer pointed at the current masters, and the API name at its VIP. */
export function nodeBalancingAction(ctx: KubeadmContext, node: ClusterHost): HostAction {
  const masters = ctx.masters.map((m) => m.ip);
  const lb = installBalancer({ vip: ctx.vip, port: ctx.apiPort, nodeIp: node.ip, masters });
  return {
    description: `point ${node.ip}'s API balancer at ${masters.join(', ')}`,
    files: lb.files,
    commands: [...(lb.commands ?? []), setHostsEntry(ctx.vip, ctx.apiServerDomain)],
  };
}

function joinWorkerStep(ctx: KubeadmContext, host: ClusterHost): HostStep {
  const config = clusterConfig(ctx);
  const lb = nodeBalancingAction(ctx, host);
  const programs = installProgramsAction(ctx.rootfsDir);
  const joinConfig = config.joinConfig(host, {
    controlPlane: false,
    token: joinToken(ctx),
    caCertHash: caCertHash(ctx.state.cas.ca.cert),
    apiServerEndpoint: endpointOf(ctx),
  });
  return {
    host: host.ip,
    id: 'join',
    description: `join worker ${host.ip} through its API balancer`,
    // the masters and the token change without making a joined worker join again
    inputs: { joinWorker: host.ip },
    files: [...(lb.files ?? []), { path: joinConfigFile, content: joinConfig, mode: 0o600 }],
    commands: [
      setHostsEntry(ctx.registry.hostIp, ctx.registry.domain),
      ...(lb.commands ?? []),
      ...(programs.commands ?? []),
      `${kubeletStartFunction()}
if [ -s ${kubeletConf} ]; then
echo "${host.ip} has joined already; kubeadm join is not run again"
start_kubelet
else
${resetLeftoversCommand(clusterDirOf(ctx.rootfsDir))}
start_kubelet
${kubeadmCommand(clusterDirOf(ctx.rootfsDir), `join --config ${joinConfigFile}`)}
fi
${dropConfigCommand(joinConfigFile)}`,
    ],
    secrets: [...tokenSecrets(ctx), ...mirrorSecrets(ctx.registry)],
    failure: 'kubeadm join of a worker',
  };
}

export function joinWorkerSteps(ctx: KubeadmContext, hosts: ClusterHost[]): HostStep[] {
  if (hosts.length === 0) return [];
  return [
    bootstrapTokenStep(ctx),
    ...hosts.flatMap((h) => [hostChecksStep(h, 'worker', ctx.apiPort), joinWorkerStep(ctx, h)]),
  ];
}

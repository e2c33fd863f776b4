import type { HostAction } from '../../host/action.js';
import { setHostsEntry } from '../../host/etc-hosts.js';
import { registryAddress } from '../../registry/mirrors.js';
import type { ClusterHost, HostStep } from '../types.js';
import { joinToken, tokenStep } from './control-plane.js';
import { k0sBin, kubeletConf, tokenFile } from './host-paths.js';
import {
  installBinaryCommands,
  type K0sContext,
  master0,
  registryNameCommand,
  saveAccountsCommand,
  secretsOf,
  waitSeconds,
  waitUntil,
  withTokenRemoved,
} from './host-setup.js';
import { k0sRegistryFiles } from './registries.js';

// Workers: `k0s install worker` with a worker token the first controller makes when a join is still to do,
// then `k0s start`; they join in parallel. Their API connection is k0s's own: the address in the token,
// and with several controllers k0s's node-local load balancing (an envoy on the worker that follows the
// controllers), so berth runs no balancer of its own on them.

/** The service `k0s install worker` writes. */
export const workerService = 'k0sworker';

function installWorker(withToken: boolean): string {
  return `${k0sBin} install worker ${withToken ? `--token-file=${tokenFile} ` : ''}--force`;
}

/**
 * A node's view of the endpoint: apiserver.cluster.local names the first controller, for tools on the
 * node that use the name (k0s's own API traffic goes through the token's address or its balancer).
 */
export function nodeEndpointAction(ctx: K0sContext, node: ClusterHost): HostAction {
  const m0 = master0(ctx);
  return {
    description: `${ctx.apiServerDomain} on ${node.ip} at the controller ${m0.ip}`,
    commands: [setHostsEntry(m0.ip, ctx.apiServerDomain)],
  };
}

function joinWorkerStep(ctx: K0sContext, host: ClusterHost): HostStep {
  const joined = `[ -s ${kubeletConf} ]`;
  return {
    host: host.ip,
    id: 'join',
    description: `join k0s worker ${host.ip}`,
    inputs: { k0sWorker: host.ip, registry: registryAddress(ctx.registry) },
    files: [
      ...k0sRegistryFiles(ctx.registry),
      { path: tokenFile, content: joinToken(ctx, 'worker'), mode: 0o600 },
    ],
    commands: [
      withTokenRemoved([
        registryNameCommand(ctx),
        ...(nodeEndpointAction(ctx, host).commands ?? []),
        ...installBinaryCommands(ctx.rootfsDir),
        saveAccountsCommand,
        `if ${joined}; then
echo "${host.ip} has joined already; it is not joined again"
if ! ${k0sBin} status >/dev/null 2>&1; then ${installWorker(false)} && ${k0sBin} start; fi
else
# a join cut short (berth killed, the link lost) may have left the worker running on an older token
if ${k0sBin} status >/dev/null 2>&1; then ${k0sBin} stop; fi
${installWorker(true)}
${k0sBin} start
${waitUntil(joined, `${host.ip}: the k0s worker wrote no ${kubeletConf} within ${waitSeconds} s; see journalctl -u ${workerService} or /var/log/berth/${workerService}.log`)}
# joined: the service no longer names the token, which is removed
${installWorker(false)}
fi`,
      ]),
    ],
    secrets: secretsOf(ctx),
    failure: 'joining a k0s worker',
  };
}

export function joinWorkerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  if (hosts.length === 0) return [];
  return [tokenStep(ctx, 'worker'), ...hosts.map((h) => joinWorkerStep(ctx, h))];
}

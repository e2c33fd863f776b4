import { setHostsEntry } from '../../host/etc-hosts.js';
import { waitForPortCommand } from '../../host/wait-port.js';
import { registryAddress } from '../../registry/mirrors.js';
import { stepOutput } from '../step-output.js';
import type { ClusterHost, HostStep } from '../types.js';
import { controllerConfig } from './config.js';
import { berthAdminConf, configFile, etcdDir, k0sBin, tokenFile } from './host-paths.js';
import {
  configSwapCommand,
  installBinaryCommands,
  type K0sContext,
  master0,
  registryNameCommand,
  saveAccountsCommand,
  secretsOf,
  stagedConfig,
  waitSeconds,
  waitUntil,
  withTokenRemoved,
} from './host-setup.js';
import { k0sRegistryFiles } from './registries.js';

// The controllers: `k0s install controller` and `k0s start` on the first, then each further controller
// joined with a controller token that the first one makes when a join is still to do (each adds an etcd
// member, so the engine runs them one at a time). Every controller also runs a worker, since berth waits
// for every host as a Ready node; it carries the control-plane taint unless the cluster has no other
// nodes. A controller whose k0s.yaml changed in what it serves (a Clusterfile ClusterConfig, node-local
// load balancing turned on) is restarted with it.

/** The service `k0s install controller` writes. */
export const controllerService = 'k0scontroller';
export const tokenExpiry = '1h';

function installFlags(ctx: K0sContext, withToken: boolean): string {
  return [
    `--config=${configFile}`,
    '--enable-worker',
    ...(ctx.nodes.length === 0 ? ['--no-taints'] : []),
    ...(withToken ? [`--token-file=${tokenFile}`] : []),
    '--force',
  ].join(' ');
}

/** The API of this controller answers; then `k0s kubeconfig admin` is kept for berth to fetch. */
function apiUpCommands(ctx: K0sContext, host: ClusterHost): string[] {
  return [
    waitForPortCommand(
      host.ip,
      ctx.apiPort,
      waitSeconds,
      `${host.ip}: k0s served no API on port ${ctx.apiPort} within ${waitSeconds} s; see journalctl -u ${controllerService} or /var/log/berth/${controllerService}.log`,
    ),
    `(umask 077 && ${k0sBin} kubeconfig admin > ${berthAdminConf}.new) && mv -f ${berthAdminConf}.new ${berthAdminConf}`,
  ];
}

/**
 * What decides whether a done controller step runs again (and restarts k0s with the new file): its config
 * as far as this controller serves it. The other controllers' names in spec.api.sans are left out, since
 * its certificate needs only its own, so controllers coming and going restart no one; the token and the
 * version (upgrade's business) are left out too.
 */
function controllerInputs(ctx: K0sContext, host: ClusterHost) {
  const own = controllerConfig({ ...ctx, masters: [host] }, host, ctx.state.nodeLocalBalancing);
  return { k0sController: host.ip, config: own, registry: registryAddress(ctx.registry) };
}

function controllerFiles(ctx: K0sContext, config: string) {
  return [{ path: stagedConfig, content: config, mode: 0o600 }, ...k0sRegistryFiles(ctx.registry)];
}

/** Restarts a running k0s whose config changed, or installs (again) and starts one that does not run. */
function runningOrStarted(install: string): string {
  return `if ${k0sBin} status >/dev/null 2>&1; then
if [ "$changed" = 1 ]; then echo "k0s.yaml changed; restarting k0s"; ${k0sBin} stop && ${k0sBin} start; fi
else
${install}
${k0sBin} start
fi`;
}

export function initSteps(ctx: K0sContext): HostStep[] {
  const m0 = master0(ctx);
  const config = controllerConfig(ctx, m0, ctx.state.nodeLocalBalancing);
  return [
    {
      host: m0.ip,
      id: 'init',
      description: `install and start the first k0s controller on ${m0.ip}`,
      inputs: controllerInputs(ctx, m0),
      files: controllerFiles(ctx, config),
      commands: [
        registryNameCommand(ctx),
        setHostsEntry(m0.ip, ctx.apiServerDomain),
        ...installBinaryCommands(ctx.rootfsDir),
        saveAccountsCommand,
        `${configSwapCommand}
${runningOrStarted(`${k0sBin} install controller ${installFlags(ctx, false)}`)}`,
        ...apiUpCommands(ctx, m0),
      ],
      secrets: secretsOf(ctx),
      failure: 'the first k0s controller',
    },
  ];
}

/**
 * A fresh join token of `role` from the first controller, run only when a join still needs it; the
 * engine keeps it encrypted with the journal and masks it in logs.
 */
export function tokenStep(ctx: K0sContext, role: 'controller' | 'worker'): HostStep {
  const m0 = master0(ctx);
  return {
    host: m0.ip,
    id: `${role}-token`,
    description: `a k0s ${role} join token from ${m0.ip}`,
    always: true,
    outputs: { token: `${k0sBin} token create --role=${role} --expiry=${tokenExpiry} --wait` },
    failure: `creating a k0s ${role} token`,
  };
}

export function joinToken(ctx: K0sContext, role: 'controller' | 'worker'): string {
  return stepOutput(master0(ctx).ip, `${role}-token`, 'token');
}

function joinControllerStep(ctx: K0sContext, host: ClusterHost): HostStep {
  const m0 = master0(ctx);
  const config = controllerConfig(ctx, host, ctx.state.nodeLocalBalancing);
  const joined = `[ -n "$(ls -A ${etcdDir} 2>/dev/null)" ]`;
  return {
    host: host.ip,
    id: 'join',
    description: `join k0s controller ${host.ip} through ${m0.ip}`,
    inputs: controllerInputs(ctx, host),
    files: [
      ...controllerFiles(ctx, config),
      { path: tokenFile, content: joinToken(ctx, 'controller'), mode: 0o600 },
    ],
    commands: [
      withTokenRemoved([
        registryNameCommand(ctx),
        setHostsEntry(host.ip, ctx.apiServerDomain),
        ...installBinaryCommands(ctx.rootfsDir),
        saveAccountsCommand,
        `${configSwapCommand}
if ${joined}; then
echo "${host.ip} is an etcd member already; it is not joined again"
${runningOrStarted(`${k0sBin} install controller ${installFlags(ctx, false)}`)}
else
${k0sBin} install controller ${installFlags(ctx, true)}
${k0sBin} start
${waitUntil(joined, `${host.ip}: k0s did not join etcd through ${m0.ip} within ${waitSeconds} s; see journalctl -u ${controllerService} or /var/log/berth/${controllerService}.log`)}
# joined: the service no longer names the token, which is removed
${k0sBin} install controller ${installFlags(ctx, false)}
fi`,
      ]),
      ...apiUpCommands(ctx, host),
    ],
    secrets: secretsOf(ctx),
    failure: 'joining a k0s controller',
  };
}

export function joinControllerSteps(ctx: K0sContext, hosts: ClusterHost[]): HostStep[] {
  if (hosts.length === 0) return [];
  return [tokenStep(ctx, 'controller'), ...hosts.map((h) => joinControllerStep(ctx, h))];
}

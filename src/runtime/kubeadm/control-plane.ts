import type { HostAction } from '../../host/action.js';
import { setHostsEntry } from '../../host/etc-hosts.js';
import { stopService } from '../../host/services.js';
import { mirrorSecrets } from '../../registry/mirrors.js';
import { shellQuote } from '../../util/shell.js';
import { stepOutput } from '../step-output.js';
import type { ClusterHost, HostStep, RuntimeContext } from '../types.js';
import { clusterConfig, kubeVersionOf } from './cluster-config.js';
import { hostChecksStep } from './host-checks.js';
import {
  bootstrapKubeletConf,
  clusterDirOf,
  etcdDataDir,
  initConfigFile,
  joinConfigFile,
  kubeletConf,
  kubeletConfig,
  manifestsDir,
  pkiDir,
  stagingDirOf,
} from './host-paths.js';
import { installProgramsAction, kubeletService, kubeletStartFunction } from './host-setup.js';
import { kubeadmCommand, kubectlCommand, waitForApiCommand } from './kubeadm-command.js';
import { caCertHash } from './pki/index.js';
import type { KubeadmState } from './state.js';
import { installUploadCommand, masterSecrets, masterUploadFiles } from './upload.js';

// The control plane: `kubeadm init` on the first master, then each further master joined as a control-plane
// node, one after another (each adds an etcd member). Every master gets the certificates and kubeconfigs
// berth made, so kubeadm's certs and kubeconfig phases are skipped on init and nothing is downloaded on a
// join. A step interrupted half-way is run again from a clean slate: kubeadm's leftovers are reset first,
// unless the control plane already answers on that host.

export type KubeadmContext = RuntimeContext<KubeadmState>;

const apiWaitSeconds = 300;

export function master0(ctx: KubeadmContext): ClusterHost {
  const m = ctx.masters[0];
  if (!m) throw new Error('a kubeadm cluster needs at least one master');
  return m;
}

export function endpointOf(ctx: KubeadmContext): string {
  return `${ctx.apiServerDomain}:${ctx.apiPort}`;
}

export function tokenSecrets(ctx: KubeadmContext): string[] {
  const t = ctx.state.bootstrapToken;
  return [t, t.slice(t.indexOf('.') + 1)];
}

/** Files kubeadm init or join leave behind; any of them without a working result means a run was cut short. */
const leftovers = [
  `${manifestsDir}/kube-apiserver.yaml`,
  `${manifestsDir}/etcd.yaml`,
  kubeletConf,
  bootstrapKubeletConf,
  kubeletConfig,
  `${etcdDataDir}/member`,
  // a worker's join writes the CA it discovered first; a master's comes from berth's upload, after this test
  `${pkiDir}/ca.crt`,
];

export function leftoversTest(): string {
  return leftovers.map((p) => `[ -e ${p} ]`).join(' || ');
}

/**
 * Removes kubeadm's init or join config once it has served: it holds the bootstrap token, a credential
 * that joins nodes for a day, and nothing reads the file again (kubeadm keeps its config in the cluster).
 */
export function dropConfigCommand(file: string): string {
  return `rm -f ${file}`;
}

/** Stops the kubelet and resets what an interrupted kubeadm run left, so that the run can start over. */
export function resetLeftoversCommand(clusterDir: string): string {
  return `if ${leftoversTest()}; then
echo "kubeadm left files from an interrupted run; resetting them first"
${stopService(kubeletService.name)}
${kubeadmCommand(clusterDir, 'reset -f')}
fi`;
}

/** `kubeadm init`'s phases berth did itself: certificates and the control-plane kubeconfigs. */
export function skippedInitPhases(minor: number): string[] {
  return [
    'certs',
    'kubeconfig/admin',
    ...(minor >= 29 ? ['kubeconfig/super-admin'] : []),
    'kubeconfig/controller-manager',
    'kubeconfig/scheduler',
    ...(minor >= 25 ? ['show-join-command'] : []),
  ];
}

function namesCommands(ctx: KubeadmContext, apiTarget: string): string[] {
  return [
    setHostsEntry(ctx.registry.hostIp, ctx.registry.domain),
    setHostsEntry(apiTarget, ctx.apiServerDomain),
  ];
}

function merge(step: Omit<HostStep, 'files' | 'commands'>, parts: HostAction[]): HostStep {
  return {
    ...step,
    files: parts.flatMap((p) => p.files ?? []),
    commands: parts.flatMap((p) => p.commands ?? []),
  };
}

/** The file a finished `kubeadm init` or control-plane join leaves on its master. */
function controlPlaneMark(rootfsDir: string): string {
  return shellQuote(`${clusterDirOf(rootfsDir)}/kubeadm-control-plane-done`);
}

/** How one master becomes part of the control plane: by `kubeadm init` or by a control-plane join. */
interface ControlPlaneRun {
  step: Omit<HostStep, 'files' | 'commands'>;
  description: string;
  /** Whether the master is the first one (its upload holds the cluster's own files). */
  first: boolean;
  configFile: string;
  config: string;
  /** kubectl against the API server this run brings up. */
  kubectl: string;
  /** Shell test that this master already serves the control plane, so kubeadm is not run again. */
  alreadyServes: string;
  alreadyMessage: string;
  /** kubeadm's arguments. */
  kubeadm: string;
  apiFailure: string;
  after?: string[];
}

function controlPlaneStep(ctx: KubeadmContext, r: ControlPlaneRun): HostStep {
  const clusterDir = clusterDirOf(ctx.rootfsDir);
  return merge(r.step, [
    installProgramsAction(ctx.rootfsDir),
    {
      description: r.description,
      files: [
        ...masterUploadFiles(ctx.state, r.step.host, ctx.rootfsDir, r.first),
        { path: r.configFile, content: r.config, mode: 0o600 },
      ],
      commands: [
        // a join reaches the cluster through master0; afterwards its master serves the name itself
        ...namesCommands(ctx, master0(ctx).ip),
        `${kubeletStartFunction()}
if ${r.alreadyServes}; then
echo ${shellQuote(r.alreadyMessage)}
rm -rf ${shellQuote(stagingDirOf(ctx.rootfsDir))}
start_kubelet
else
${resetLeftoversCommand(clusterDir)}
${installUploadCommand(ctx.rootfsDir)}
start_kubelet
${kubeadmCommand(clusterDir, r.kubeadm)}
fi
: > ${controlPlaneMark(ctx.rootfsDir)}
${dropConfigCommand(r.configFile)}`,
        waitForApiCommand(r.kubectl, apiWaitSeconds, r.apiFailure),
        ...(r.after ?? []),
      ],
    },
  ]);
}

export function initSteps(ctx: KubeadmContext): HostStep[] {
  const m0 = master0(ctx);
  const kubectl = kubectlCommand(clusterDirOf(ctx.rootfsDir));
  const skipped = skippedInitPhases(kubeVersionOf(ctx).minor).join(',');
  const init = controlPlaneStep(ctx, {
    step: {
      host: m0.ip,
      id: 'init',
      description: `kubeadm init on the first master ${m0.ip}`,
      // the version is left out: a new one is an upgrade (upgrade.ts), never a second init
      inputs: { init: m0.ip },
      secrets: [...masterSecrets(ctx.state, m0.ip), ...tokenSecrets(ctx), ...mirrorSecrets(ctx.registry)],
      failure: 'kubeadm init of the first master',
    },
    description: 'the first control-plane node',
    first: true,
    configFile: initConfigFile,
    config: clusterConfig(ctx).initConfig(m0, ctx.state.bootstrapToken),
    kubectl,
    // An API that answers is not enough to skip init: berth killed in the middle of kubeadm init leaves
    // one without the phases after it (the bootstrap token's RBAC, the addons), and joins then fail; only
    // an init that finished leaves its mark. A joined master leaves it too: it becomes the first master
    // when the one before it is deleted, and must not be initialised as a new cluster then.
    alreadyServes: `[ -s ${kubeletConf} ] && [ -f ${controlPlaneMark(ctx.rootfsDir)} ] && ${kubectl} --request-timeout=5s get --raw=/readyz >/dev/null 2>&1`,
    alreadyMessage: `the control plane already answers on ${m0.ip}; kubeadm init is not run again`,
    kubeadm: `init --config ${initConfigFile} --skip-phases=${skipped} --skip-token-print`,
    apiFailure: `${m0.ip}: the API server did not answer within ${apiWaitSeconds} s after kubeadm init; see the kubelet's log`,
  });
  return [hostChecksStep(m0, 'control-plane', ctx.apiPort), init];
}

/**
 * Makes sure the state's bootstrap token exists in the cluster (it was made at init, or is newer than
 * the cluster) and hands it to the joins as an output, so it runs only when a join is still to do.
 */
export function bootstrapTokenStep(ctx: KubeadmContext): HostStep {
  const m0 = master0(ctx);
  const file = `${stagingDirOf(ctx.rootfsDir)}/bootstrap-token`;
  const kubectl = kubectlCommand(clusterDirOf(ctx.rootfsDir));
  const ttl = Math.max(60, Math.floor((ctx.state.tokenExpires - Date.now()) / 1000));
  return {
    host: m0.ip,
    id: 'bootstrap-token',
    description: `a bootstrap token for joins, from ${m0.ip}`,
    always: true,
    files: [{ path: file, content: ctx.state.bootstrapToken, mode: 0o600 }],
    commands: [
      `t=$(cat ${file}); id=\${t%%.*}
if ! ${kubectl} -n kube-system get secret "bootstrap-token-$id" >/dev/null 2>&1; then
${kubeadmCommand(clusterDirOf(ctx.rootfsDir), `token create "$t" --ttl ${ttl}s --description 'joins by berth'`)}
fi`,
    ],
    outputs: {
      token: `cat ${file} && rm -f ${file} && { rmdir ${shellQuote(stagingDirOf(ctx.rootfsDir))} 2>/dev/null || :; }`,
    },
    secrets: tokenSecrets(ctx),
    failure: 'creating the bootstrap token',
  };
}

/** The token the joins use, filled in by the engine from the bootstrap-token step. */
export function joinToken(ctx: KubeadmContext): string {
  return stepOutput(master0(ctx).ip, 'bootstrap-token', 'token');
}

function joinMasterStep(ctx: KubeadmContext, host: ClusterHost): HostStep {
  const m0 = master0(ctx);
  const local = kubectlCommand(clusterDirOf(ctx.rootfsDir), `https://${host.ip}:${ctx.apiPort}`);
  return controlPlaneStep(ctx, {
    step: {
      host: host.ip,
      id: 'join',
      description: `join ${host.ip} as a control-plane node through ${m0.ip}`,
      inputs: { joinMaster: host.ip },
      secrets: [...masterSecrets(ctx.state, host.ip), ...tokenSecrets(ctx), ...mirrorSecrets(ctx.registry)],
      failure: 'kubeadm join of a control-plane node',
    },
    description: 'a further control-plane node',
    first: false,
    configFile: joinConfigFile,
    config: clusterConfig(ctx).joinConfig(host, {
      controlPlane: true,
      token: joinToken(ctx),
      caCertHash: caCertHash(ctx.state.cas.ca.cert),
      apiServerEndpoint: endpointOf(ctx),
    }),
    kubectl: local,
    alreadyServes: `[ -s ${kubeletConf} ] && [ -e ${manifestsDir}/kube-apiserver.yaml ] && ${local} --request-timeout=5s get --raw=/readyz >/dev/null 2>&1`,
    alreadyMessage: `${host.ip} already serves the control plane; kubeadm join is not run again`,
    kubeadm: `join --config ${joinConfigFile}`,
    apiFailure: `${host.ip}: its API server did not answer within ${apiWaitSeconds} s after kubeadm join; see the kubelet's log`,
    after: [setHostsEntry(host.ip, ctx.apiServerDomain)],
  });
}

export function joinMasterSteps(ctx: KubeadmContext, hosts: ClusterHost[]): HostStep[] {
  if (hosts.length === 0) return [];
  return [
    bootstrapTokenStep(ctx),
    ...hosts.flatMap((h) => [hostChecksStep(h, 'control-plane', ctx.apiPort), joinMasterStep(ctx, h)]),
  ];
}

import { startService, stopService } from '../../host/services.js';
import type { KubeVersion } from '../kube-version.js';
import type { ClusterHost, HostStep } from '../types.js';
import { kubeVersionOf } from './cluster-config.js';
import { type KubeadmContext, master0 } from './control-plane.js';
import { clusterDirOf } from './host-paths.js';
import { installProgramsAction, kubeletService } from './host-setup.js';
import { kubeadmCommand, kubectlCommand, waitForApiCommand } from './kubeadm-command.js';

// One host of a running kubeadm cluster moved to the image's version, after the engine copied the new
// rootfs and drained the host: the new kubeadm, kubelet and kubectl from the rootfs's bin/ (as at init),
// `kubeadm upgrade apply` on the first master and `kubeadm upgrade node` elsewhere, then the kubelet restarted
// on its new binary. kubeadm's certificate renewal is turned off: the certificates are berth's, made in
// prepare and renewed by `berth cert renew`, so they keep the SANs and expiry berth knows.

const apiWaitSeconds = 300;

/** The version kubeadm is given: the image's, without a distribution build suffix. */
function kubeadmVersion(v: KubeVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

export function upgradeSteps(ctx: KubeadmContext, host: ClusterHost, from: KubeVersion): HostStep[] {
  const to = kubeadmVersion(kubeVersionOf(ctx));
  const first = master0(ctx).ip === host.ip;
  const isMaster = ctx.masters.some((m) => m.ip === host.ip);
  const local = kubectlCommand(clusterDirOf(ctx.rootfsDir), `https://${host.ip}:${ctx.apiPort}`);
  const kubeadm = first
    ? `upgrade apply ${to} --yes --certificate-renewal=false`
    : 'upgrade node --certificate-renewal=false';
  const install = installProgramsAction(ctx.rootfsDir);
  const waitApi = (when: string) =>
    waitForApiCommand(
      local,
      apiWaitSeconds,
      `${host.ip}: its API server did not answer within ${apiWaitSeconds} s ${when}; see the kubelet's log`,
    );
  return [
    {
      host: host.ip,
      id: `upgrade-${to}`,
      description: `${first ? 'kubeadm upgrade apply' : 'kubeadm upgrade node'} on ${host.ip} (${kubeadmVersion(from)} -> ${to})`,
      inputs: { upgrade: host.ip, to, first },
      failure: `kubeadm upgrade of ${host.ip} to ${to}`,
      commands: [
        ...(install.commands ?? []),
        // a run cut short may have stopped the kubelet: kubeadm needs the control plane it runs
        startService(kubeletService.name),
        ...(isMaster ? [waitApi('before kubeadm upgrade')] : []),
        kubeadmCommand(clusterDirOf(ctx.rootfsDir), kubeadm),
        // the kubelet runs its new binary from here on
        stopService(kubeletService.name),
        startService(kubeletService.name),
        ...(isMaster ? [waitApi(`after the kubelet restarted on ${to}`)] : []),
      ],
    },
  ];
}

import { waitForPortCommand } from '../../host/wait-port.js';
import type { KubeVersion } from '../kube-version.js';
import type { ClusterHost, HostStep } from '../types.js';
import { controllerConfig } from './config.js';
import { controllerService } from './control-plane.js';
import { k0sBin } from './host-paths.js';
import {
  configSwapCommand,
  installBinaryCommands,
  type K0sContext,
  stagedConfig,
  waitSeconds,
  waitUntil,
} from './host-setup.js';
import { workerService } from './workers.js';

// One host moved to the image's k0s: k0s stopped, the new binary put in place (with a controller's
// k0s.yaml written again, as the new k0s reads it), k0s started and waited for (a controller's API, a
// worker's status). The engine runs it controllers first, one at a time, then the workers, with the host
// drained; the step id names the target version, so a cut-short upgrade resumes.

export function upgradeSteps(ctx: K0sContext, host: ClusterHost, from: KubeVersion): HostStep[] {
  const to = ctx.kubeVersion;
  if (!to) throw new Error('the cluster image declares no k0s version to upgrade to');
  const controller = ctx.masters.some((m) => m.ip === host.ip);
  const service = controller ? controllerService : workerService;
  const logs = `see journalctl -u ${service} or /var/log/berth/${service}.log`;
  return [
    {
      host: host.ip,
      id: `upgrade-${to.text}`,
      description: `upgrade k0s on ${host.ip} from ${from.text} to ${to.text}`,
      inputs: { k0sUpgrade: host.ip, to: to.text },
      files: controller
        ? [
            {
              path: stagedConfig,
              content: controllerConfig(ctx, host, ctx.state.nodeLocalBalancing),
              mode: 0o600,
            },
          ]
        : [],
      commands: [
        `${k0sBin} stop 2>/dev/null || :`,
        ...installBinaryCommands(ctx.rootfsDir),
        ...(controller ? [configSwapCommand] : []),
        `${k0sBin} start`,
        controller
          ? waitForPortCommand(
              host.ip,
              ctx.apiPort,
              waitSeconds,
              `${host.ip}: k0s ${to.text} served no API on port ${ctx.apiPort} within ${waitSeconds} s; ${logs}`,
            )
          : waitUntil(
              `${k0sBin} status >/dev/null 2>&1`,
              `${host.ip}: k0s ${to.text} did not run within ${waitSeconds} s; ${logs}`,
            ),
      ],
      failure: `upgrading k0s on ${host.ip} to ${to.text}`,
    },
  ];
}

import type { Command } from 'commander';
import { interruptSignal } from '../util/interrupt.js';
import { type ApplyFlags, addApplyFlags, applyOptions } from './cluster-flags.js';

// `berth upgrade IMAGE`: the applied cluster with a rootfs image of the next Kubernetes version.

export function registerUpgrade(program: Command): void {
  const cmd = program
    .command('upgrade')
    .description(
      "upgrade an applied cluster's Kubernetes to the version of IMAGE (one minor at a time), host by host",
    )
    .argument('<image>', 'the rootfs image of the new version')
    .option('--cluster <name>', 'cluster name', 'default');
  addApplyFlags(cmd).action(async (image: string, flags: ApplyFlags & { cluster: string }) => {
    const { upgradeCluster } = await import('../apply/upgrade-cluster.js');
    await upgradeCluster(flags.cluster, image, applyOptions(flags, interruptSignal()));
  });
}

import { join, relative } from 'node:path';
import type { ResolvedHost } from '../../clusterfile/index.js';
import { type HookName, hookCommand } from '../../image/contract.js';
import { exists } from '../../util/local-files.js';
import type { ChangePhase, PlannedStep } from '../phase.js';
import type { PlannedCluster } from '../planned-cluster.js';

// Runs a hook of the rootfs and patch images (check, init, init-registry, clean...) on the hosts it is for,
// from <rootfs>/scripts with the merged env exported, each image's hook in image order.

async function hookLines(c: PlannedCluster, hook: HookName, host: ResolvedHost): Promise<string[]> {
  // hookCommand asks whether a script exists on the host; the local merged tree holds the same files.
  const onHost = (p: string) => exists(join(c.images.rootfsDir, relative(c.remoteRootfs, p)));
  const env = { ...c.images.env, ...host.env };
  const lines: string[] = [];
  for (const img of c.images.images.filter((i) => i.type !== 'application')) {
    const line = await hookCommand(img.labels, hook, c.remoteRootfs, onHost, env);
    if (line && !lines.includes(line)) lines.push(line);
  }
  return lines;
}

export interface HookOptions {
  /** The hook runs on every apply that plans it, and its failure is only a warning (clean on reset). */
  undoing?: boolean;
}

export function hookPhase(
  hook: HookName,
  title: string,
  hosts: (c: PlannedCluster) => ResolvedHost[],
  opts: HookOptions = {},
): ChangePhase {
  return {
    title,
    async plan(c) {
      const steps: PlannedStep[] = [];
      for (const h of hosts(c)) {
        const commands = await hookLines(c, hook, h);
        if (commands.length === 0) continue;
        steps.push({
          host: h.ip,
          id: `hook-${hook}`,
          description: `run the ${hook} hook`,
          commands,
          // its command lines and the images they come from
          inputs: { commands, key: c.images.key },
          always: opts.undoing,
          mayFail: opts.undoing,
        });
      }
      return { order: 'parallel', steps };
    },
  };
}

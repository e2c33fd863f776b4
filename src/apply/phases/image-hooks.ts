import { access } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ResolvedHost } from '../../clusterfile/index.js';
import { type HookName, hookCommand } from '../../image/contract.js';
import { type ApplyContext, remoteRootfs, requireImages } from '../context.js';
import { onHosts, runStep, stepPending } from '../host-run.js';
import type { Phase } from '../phase.js';

// Runs a hook of the rootfs and patch images (check, init, init-registry, ...) on the hosts it is for,
// from <rootfs>/scripts with the merged env exported, each image's hook in image order.

async function hookLines(ctx: ApplyContext, hook: HookName, host: ResolvedHost): Promise<string[]> {
  const images = requireImages(ctx);
  const remote = remoteRootfs(ctx.name);
  // hookCommand asks whether a script exists on the host; the local merged tree holds the same files.
  const exists = (p: string) =>
    access(join(images.rootfsDir, relative(remote, p))).then(
      () => true,
      () => false,
    );
  const env = { ...images.env, ...host.env };
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const img of images.images.filter((i) => i.type !== 'application')) {
    const line = await hookCommand(img.labels, hook, remote, exists, env);
    if (line && !seen.has(line)) lines.push(line);
    if (line) seen.add(line);
  }
  return lines;
}

/** What identifies a hook's run on a host: its command lines and the images they come from. */
function stepInputs(ctx: ApplyContext, commands: string[]): unknown {
  return { commands, key: requireImages(ctx).key };
}

export function hookPhase(
  hook: HookName,
  title: string,
  hosts: (ctx: ApplyContext) => ResolvedHost[],
): Phase<ApplyContext> {
  return {
    title,
    async shouldRun(ctx) {
      for (const h of hosts(ctx)) {
        const commands = await hookLines(ctx, hook, h);
        if (commands.length > 0 && stepPending(ctx, h, `hook-${hook}`, stepInputs(ctx, commands)))
          return true;
      }
      return false;
    },
    async dryRun(ctx) {
      const out: string[] = [];
      for (const h of hosts(ctx)) for (const l of await hookLines(ctx, hook, h)) out.push(`${h.ip}: ${l}`);
      return out;
    },
    async run(ctx) {
      await onHosts(ctx, hosts(ctx), async (h) => {
        const commands = await hookLines(ctx, hook, h);
        if (commands.length === 0) return;
        await runStep(
          ctx,
          h,
          `hook-${hook}`,
          { description: `run the ${hook} hook`, commands },
          stepInputs(ctx, commands),
        );
      });
    },
  };
}

import { access } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ResolvedHost } from '../../clusterfile/index.js';
import { type ApplyContext, remoteRootfs, requireImages } from '../context.js';
import { type HookName, hookCommand } from '../hooks.js';
import type { Phase } from '../phase.js';
import { onHosts, runStep } from '../remote.js';

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

export function hookPhase(
  hook: HookName,
  title: string,
  hosts: (ctx: ApplyContext) => ResolvedHost[],
): Phase<ApplyContext> {
  return {
    title,
    shouldRun: () => true,
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
          {
            commands,
            key: requireImages(ctx).key,
          },
        );
      });
    },
  };
}

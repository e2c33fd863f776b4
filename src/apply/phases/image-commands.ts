import { join } from 'node:path';
import { expandVars, shellEnvPrefix } from '../../image/contract.js';
import { shellQuote } from '../../ssh/index.js';
import { log } from '../../util/log.js';
import { type ApplyContext, hostSpec, remoteClusterDir, remoteRootfs, requireImages } from '../context.js';
import { onHosts } from '../host-run.js';
import { digestInputs } from '../journal.js';
import type { Phase } from '../phase.js';

// Commands the images carry: the rootfs/patch CMD (or spec.command) on every host inside the rootfs, then
// each application image's CMD on the first master inside its own directory. Each runs once per image
// content and env; re-applying an unchanged cluster runs nothing.

function appsPending(ctx: ApplyContext) {
  const images = requireImages(ctx);
  const master0 = ctx.masters[0];
  if (!master0) return [];
  return images.apps
    .map((app, i) => ({
      app,
      step: `app-${i}`,
      inputs: digestInputs([app.image.manifestDigest, app.env, app.command]),
    }))
    .filter((a) => a.app.command && !ctx.journal.isDone(master0.ip, a.step, a.inputs));
}

function rootfsCommandPending(ctx: ApplyContext) {
  const images = requireImages(ctx);
  if (!images.command) return [];
  const inputs = digestInputs([images.key, images.command]);
  return ctx.hosts.filter((h) => !ctx.journal.isDone(h.ip, 'rootfs-cmd', inputs));
}

export const runImageCommands: Phase<ApplyContext> = {
  title: 'run image commands',
  shouldRun: (ctx) => rootfsCommandPending(ctx).length > 0 || appsPending(ctx).length > 0,
  dryRun: (ctx) => [
    ...rootfsCommandPending(ctx).map((h) => `${h.ip}: ${requireImages(ctx).command}`),
    ...appsPending(ctx).map((a) => `${ctx.masters[0]?.ip}: ${a.app.image.ref}: ${a.app.command}`),
  ],
  async run(ctx) {
    const images = requireImages(ctx);
    if (images.command) {
      const inputs = digestInputs([images.key, images.command]);
      await onHosts(ctx, rootfsCommandPending(ctx), async (h) => {
        const env = { ...images.env, ...h.env };
        const line = `cd ${shellQuote(remoteRootfs(ctx.name))} && ${shellEnvPrefix(env)}${expandVars(images.command as string, env)}`;
        log.info(`${h.ip}: ${images.command}`);
        await (await ctx.pool.session(hostSpec(h))).exec(`sh -e -c ${shellQuote(line)}`, {
          sudo: true,
          signal: ctx.options.signal,
        });
        await ctx.journal.record(h.ip, 'rootfs-cmd', inputs);
      });
    }
    const master0 = ctx.masters[0];
    if (!master0) return;
    const session = await ctx.pool.session(hostSpec(master0));
    for (const { app, step, inputs } of appsPending(ctx)) {
      const dir = join(remoteClusterDir(ctx.name), 'apps', step);
      await session.putTree(app.dir, dir, { sudo: true, signal: ctx.options.signal });
      const line = `cd ${shellQuote(dir)} && ${shellEnvPrefix(app.env)}${expandVars(app.command as string, app.env)}`;
      log.info(`${master0.ip}: ${app.image.ref}: ${app.command}`);
      await session.exec(`sh -e -c ${shellQuote(line)}`, {
        sudo: true,
        signal: ctx.options.signal,
        onLine: (l) => log.info(`${master0.ip}: ${l}`),
      });
      await ctx.journal.record(master0.ip, step, inputs);
    }
  },
};

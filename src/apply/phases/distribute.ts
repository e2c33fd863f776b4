import { LocalTree } from '../../ssh/index.js';
import { log } from '../../util/log.js';
import { formatBytes } from '../../util/progress.js';
import { type ApplyContext, hostSpec, remoteRootfs, requireImages } from '../context.js';
import { digestInputs } from '../journal.js';
import type { Phase } from '../phase.js';
import { onHosts } from '../remote.js';

// Sends the merged rootfs to every host. The image's registry/ (every container image of the cluster, by
// far the largest part) goes only to registry hosts. Files already on a host with the same size and
// sha256 are not sent again, and a host whose journal shows this exact rootfs is not touched at all.

const step = 'rootfs';

function pending(ctx: ApplyContext) {
  const key = digestInputs(requireImages(ctx).key);
  return ctx.hosts.filter((h) => !ctx.journal.isDone(h.ip, step, key));
}

export const distributeRootfs: Phase<ApplyContext> = {
  title: 'distribute the rootfs',
  shouldRun: (ctx) => pending(ctx).length > 0,
  dryRun: (ctx) => pending(ctx).map((h) => `copy the merged rootfs to ${h.ip}:${remoteRootfs(ctx.name)}`),
  async run(ctx) {
    const images = requireImages(ctx);
    const key = digestInputs(images.key);
    const full = await LocalTree.scan(images.rootfsDir);
    const withoutRegistry = full.without('registry');
    let sent = 0;
    await onHosts(ctx, pending(ctx), async (h) => {
      const isRegistry = ctx.registryHosts.some((r) => r.ip === h.ip);
      const session = await ctx.pool.session(hostSpec(h));
      const r = await session.putTree(isRegistry ? full : withoutRegistry, remoteRootfs(ctx.name), {
        sudo: true,
        signal: ctx.options.signal,
      });
      sent += r.bytesSent;
      log.info(
        `${h.ip}: rootfs in place (${formatBytes(r.bytesSent)} sent, ${r.filesSkipped} file(s) already there)`,
      );
      await ctx.journal.record(h.ip, step, key);
    });
    log.info(`rootfs distributed: ${formatBytes(sent)} sent in all`);
  },
};

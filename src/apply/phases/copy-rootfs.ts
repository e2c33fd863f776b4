import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalTree } from '../../ssh/index.js';
import { sendTree } from '../../ssh/relay/send-tree.js';
import { log } from '../../util/log.js';
import { formatBytes } from '../../util/progress.js';
import { type ApplyContext, hostSpec, remoteRootfs, requireImages } from '../context.js';
import { digestInputs } from '../journal.js';
import type { Phase } from '../phase.js';

// Sends the merged rootfs to every host, leaving this machine once: the hosts relay it along a chain
// (relay/send-tree.ts). The image's registry/ (every container image of the cluster, often the largest
// part) goes only to registry hosts, as a second stream after the first: a chain that carried it only part
// of the way would need a second digest and a cut-off point in the middle of one archive, while two
// streams keep each host's check whole and cost nothing extra on the slow link. A host whose journal shows
// this exact rootfs is not touched at all.

const step = 'rootfs';

function pending(ctx: ApplyContext) {
  const key = digestInputs(requireImages(ctx).key);
  return ctx.hosts.filter((h) => !ctx.journal.isDone(h.ip, step, key));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export const distributeRootfs: Phase<ApplyContext> = {
  title: 'distribute the rootfs',
  shouldRun: (ctx) => pending(ctx).length > 0,
  dryRun: (ctx) => pending(ctx).map((h) => `copy the merged rootfs to ${h.ip}:${remoteRootfs(ctx.name)}`),
  async run(ctx) {
    const images = requireImages(ctx);
    const key = digestInputs(images.key);
    const dest = remoteRootfs(ctx.name);
    const hosts = pending(ctx);
    const relay = { pool: ctx.pool, concurrency: ctx.options.concurrency ?? 20, signal: ctx.options.signal };
    const full = await LocalTree.scan(images.rootfsDir);
    // An existing registry/ stays through the swap of the rest, so that its own copy only sends changes.
    const base = await sendTree(relay, full.without('registry'), hosts.map(hostSpec), dest, {
      keep: ['registry'],
      what: 'rootfs',
    });
    const failed = new Map(base.failed);
    let sent = base.bytesSent;
    const registryDir = join(images.rootfsDir, 'registry');
    const registryHosts = hosts.filter(
      (h) => !failed.has(h.ip) && ctx.registryHosts.some((r) => r.ip === h.ip),
    );
    if (registryHosts.length > 0 && (await exists(registryDir))) {
      const registry = await sendTree(
        relay,
        await LocalTree.scan(registryDir),
        registryHosts.map(hostSpec),
        `${dest}/registry`,
        {
          what: 'registry',
        },
      );
      for (const [ip, err] of registry.failed) failed.set(ip, err);
      sent += registry.bytesSent;
    }
    for (const h of hosts) if (!failed.has(h.ip)) await ctx.journal.record(h.ip, step, key);
    log.info(`rootfs on ${hosts.length - failed.size} host(s): ${formatBytes(sent)} sent from this machine`);
    const [first] = failed.values();
    if (first) {
      if (failed.size > 1) first.message += ` (and ${failed.size - 1} more host(s) failed)`;
      throw first;
    }
  },
};

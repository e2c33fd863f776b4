import { join } from 'node:path';
import { exists } from '../../util/local-files.js';
import type { ChangePhase, TreeCopy } from '../phase.js';

// Sends the merged rootfs to every host, leaving this machine once: the hosts relay it along a chain
// (ssh/relay/send-tree.ts). The image's registry/ (every container image of the cluster, often the
// largest part) goes only to registry hosts, as a second stream after the first: a chain that carried it
// only part of the way would need a second digest and a cut-off point in the middle of one archive, while
// two streams keep each host's check whole and cost nothing extra on the slow link. A host whose journal
// shows this exact rootfs is not touched at all.

export const copyRootfs: ChangePhase = {
  title: 'distribute the rootfs',
  async plan(c) {
    const registryDir = join(c.images.rootfsDir, 'registry');
    const withRegistry = await exists(registryDir);
    // An existing registry/ stays through the swap of the rest, so that its own copy only sends changes.
    const base: TreeCopy = {
      from: c.images.rootfsDir,
      to: c.remoteRootfs,
      without: ['registry'],
      keep: ['registry'],
      what: 'rootfs',
    };
    const registry: TreeCopy = { from: registryDir, to: `${c.remoteRootfs}/registry`, what: 'registry' };
    return {
      order: 'parallel',
      steps: c.hosts.map((h) => ({
        host: h.ip,
        id: 'rootfs',
        description: `copy the merged rootfs to ${c.remoteRootfs}`,
        inputs: c.images.key,
        copies: withRegistry && c.registryHosts.some((r) => r.ip === h.ip) ? [base, registry] : [base],
      })),
    };
  },
};

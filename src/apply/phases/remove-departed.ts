import type { ResolvedHost } from '../../clusterfile/index.js';
import { resetHostAction } from '../host-reset.js';
import type { ChangePhase, PlannedStep } from '../phase.js';
import { clusterHost } from '../planned-cluster.js';
import { hookPhase } from './image-hooks.js';

// Hosts that were in the applied cluster but are no longer in the Clusterfile: the driver drains and
// deletes their Nodes through a remaining master and resets them, the images' clean hook undoes what their
// init hook did (from the rootfs still there), then berth's own pieces go and the journal forgets them.

const cleanHook = hookPhase('clean', 'run the clean hook', (c) => c.departed, { undoing: true });

export const removeDeparted: ChangePhase = {
  title: 'remove departed hosts',
  async plan(c) {
    const leaving = (role: 'master' | 'node') => c.departed.filter((h) => h.roles.includes(role));
    const asCluster = (h: ResolvedHost) => clusterHost(c.facts, h);
    const driver = [
      ...c.runtime.deleteNodes(
        c.runtimeCtx,
        leaving('node')
          .filter((h) => !h.roles.includes('master'))
          .map(asCluster),
      ),
      ...c.runtime.deleteMasters(c.runtimeCtx, leaving('master').map(asCluster)),
    ];
    const reset: PlannedStep[] = c.departed.map((h) => ({
      host: h.ip,
      id: 'leave',
      always: true,
      forgetsHost: true,
      ...resetHostAction(c, h),
    }));
    return { order: 'sequential', steps: [...driver, ...(await cleanHook.plan(c)).steps, ...reset] };
  },
};

import type { ChangePhase } from '../phase.js';
import { clusterHost } from '../planned-cluster.js';

// The distribution: the first master initialised, further masters joined one at a time (etcd membership
// changes must not overlap), nodes joined in parallel, and every node's API balancer pointed at the
// current masters. The driver makes every step; these phases only say in which order they run.

export const initFirstMaster: ChangePhase = {
  title: 'initialise the first master',
  plan: (c) => ({ order: 'sequential', steps: c.runtime.init(c.runtimeCtx) }),
};

export const joinMasters: ChangePhase = {
  title: 'join masters',
  plan: (c) => ({
    order: 'sequential',
    steps: c.runtime.joinMasters(c.runtimeCtx, c.runtimeCtx.masters.slice(1)),
  }),
};

export const joinNodes: ChangePhase = {
  title: 'join nodes',
  plan: (c) => ({ order: 'parallel', steps: c.runtime.joinNodes(c.runtimeCtx, c.runtimeCtx.nodes) }),
};

export const syncBalancers: ChangePhase = {
  title: 'point node balancers at the masters',
  plan: (c) => ({
    order: 'parallel',
    steps: c.nodes.map((h) => ({
      host: h.ip,
      id: 'balancer',
      ...c.runtime.nodeBalancingSync(c.runtimeCtx, clusterHost(c.facts, h)),
    })),
  }),
};

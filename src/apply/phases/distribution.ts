import type { ResolvedHost } from '../../clusterfile/index.js';
import type { HostStep } from '../../runtime/types.js';
import { type ApplyContext, requireRuntime } from '../context.js';
import { hostByIp, onHosts, runStep } from '../host-run.js';
import { digestInputs } from '../journal.js';
import type { Phase } from '../phase.js';
import { clusterHost } from './prepare.js';

// The distribution: the first master initialised, further masters joined one at a time, nodes joined in
// parallel, and every node's API balancer pointed at the current masters.

function pendingSteps(ctx: ApplyContext, step: string, steps: HostStep[]): HostStep[] {
  return steps.filter((s) => !ctx.journal.isDone(s.host, step, digestInputs(s)));
}

function describe(steps: HostStep[]): string[] {
  return steps.map((s) => `${s.host}: ${s.description}`);
}

const initSteps = (ctx: ApplyContext) => {
  const { runtime, rctx } = requireRuntime(ctx);
  return pendingSteps(ctx, 'init', runtime.init(rctx));
};

export const initFirstMaster: Phase<ApplyContext> = {
  title: 'initialise the first master',
  shouldRun: (ctx) => initSteps(ctx).length > 0,
  dryRun: (ctx) => describe(initSteps(ctx)),
  async run(ctx) {
    for (const s of initSteps(ctx)) await runStep(ctx, hostByIp(ctx, s.host), 'init', s);
  },
};

const joinMasterSteps = (ctx: ApplyContext) => {
  const { runtime, rctx } = requireRuntime(ctx);
  return pendingSteps(ctx, 'join', runtime.joinMasters(rctx, rctx.masters.slice(1)));
};

export const joinMasters: Phase<ApplyContext> = {
  title: 'join masters',
  shouldRun: (ctx) => joinMasterSteps(ctx).length > 0,
  dryRun: (ctx) => describe(joinMasterSteps(ctx)),
  async run(ctx) {
    // One at a time: etcd membership changes must not overlap.
    for (const s of joinMasterSteps(ctx)) await runStep(ctx, hostByIp(ctx, s.host), 'join', s);
  },
};

const joinNodeSteps = (ctx: ApplyContext) => {
  const { runtime, rctx } = requireRuntime(ctx);
  return pendingSteps(ctx, 'join', runtime.joinNodes(rctx, rctx.nodes));
};

export const joinNodes: Phase<ApplyContext> = {
  title: 'join nodes',
  shouldRun: (ctx) => joinNodeSteps(ctx).length > 0,
  dryRun: (ctx) => describe(joinNodeSteps(ctx)),
  async run(ctx) {
    const steps = joinNodeSteps(ctx);
    const hosts = steps.map((s) => hostByIp(ctx, s.host));
    await onHosts(ctx, hosts, (h) => runStep(ctx, h, 'join', steps.find((s) => s.host === h.ip) as HostStep));
  },
};

function balancerPending(ctx: ApplyContext): ResolvedHost[] {
  const { runtime, rctx } = requireRuntime(ctx);
  return ctx.nodes.filter(
    (h) =>
      !ctx.journal.isDone(
        h.ip,
        'balancer',
        digestInputs(runtime.nodeBalancingSync(rctx, clusterHost(ctx, h))),
      ),
  );
}

export const syncBalancers: Phase<ApplyContext> = {
  title: 'point node balancers at the masters',
  shouldRun: (ctx) => balancerPending(ctx).length > 0,
  dryRun: (ctx) =>
    balancerPending(ctx).map((h) => `${h.ip}: balance ${ctx.masters.map((m) => m.ip).join(', ')}`),
  async run(ctx) {
    const { runtime, rctx } = requireRuntime(ctx);
    await onHosts(ctx, balancerPending(ctx), (h) =>
      runStep(ctx, h, 'balancer', runtime.nodeBalancingSync(rctx, clusterHost(ctx, h))),
    );
  },
};

import { InputError } from '../../util/errors.js';
import { compareMinor } from '../kube-version.js';
import type { PrepareContext } from '../types.js';
import { controllerConfig } from './config.js';

// What berth keeps for a k0s cluster between applies. Join tokens are not kept: each is made fresh on the
// first controller when a host still has to join, and expires within the hour. What is kept is whether
// k0s's node-local load balancing is on: it is turned on when a second controller comes, and stays on
// when controllers go, since workers that reach the API through it would otherwise lose it.

export interface K0sState {
  nodeLocalBalancing: boolean;
}

/** The oldest k0s line berth installs (the flags, files and config fields it writes are those of 1.28-1.30). */
const oldest = { major: 1, minor: 28 };

export function prepareK0s(ctx: PrepareContext, previous: K0sState | undefined): K0sState {
  const v = ctx.kubeVersion;
  if (v && (v.major !== oldest.major || compareMinor(v, oldest.major, oldest.minor) < 0)) {
    throw new InputError(
      `the cluster image's version ${v.text} is older than k0s v1.28, the oldest berth installs; use a newer image`,
    );
  }
  if (ctx.masters.length === 0) throw new Error('a k0s cluster needs at least one controller');
  const state = { nodeLocalBalancing: previous?.nodeLocalBalancing === true || ctx.masters.length > 1 };
  // every controller's config is checked here, before any host is touched
  for (const m of ctx.masters) controllerConfig(ctx, m, state.nodeLocalBalancing);
  return state;
}

// A k0s driver context for unit tests: controllers 10.0.0.1.. (m0, m1...), workers 10.0.0.11.. (w0...).

import type { K0sState } from '../../src/runtime/k0s/state.js';
import type { PrepareContext, RuntimeContext } from '../../src/runtime/types.js';
import { kubeadmBase } from './kubeadm-context.js';

/** The kubeadm test context's hosts and registry, with a k0s version. */
export function k0sBase(masters: number, workers: number, version = 'v1.29.4+k0s.0'): PrepareContext {
  return kubeadmBase(masters, workers, version);
}

export function k0sCtx(
  masters: number,
  workers: number,
  state?: Partial<K0sState>,
): RuntimeContext<K0sState> {
  return { ...k0sBase(masters, workers), state: { nodeLocalBalancing: masters > 1, ...state } };
}

// A k0s driver context for unit tests: controllers 10.0.0.1.. (m0, m1...), workers 10.0.0.11.. (w0...).

import type { K0sState } from '../../src/runtime/k0s/state.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import type { PrepareContext, RuntimeContext } from '../../src/runtime/types.js';
import { master, worker } from './kubeadm-context.js';

export function k0sBase(masters: number, workers: number, version = 'v1.29.4+k0s.0'): PrepareContext {
  return {
    clusterName: 'c1',
    rootfsDir: '/var/lib/berth/c1/rootfs',
    env: {},
    masters: Array.from({ length: masters }, (_, i) => master(i)),
    nodes: Array.from({ length: workers }, (_, i) => worker(i)),
    registry: {
      domain: 'sealos.hub',
      port: 5000,
      hostIp: '10.0.0.1',
      username: 'admin',
      password: 'reg-s3cret',
    },
    vip: '10.103.97.2',
    apiServerDomain: 'apiserver.cluster.local',
    apiPort: 6443,
    kubeVersion: parseKubeVersion(version),
    distributionConfig: [],
  };
}

export function k0sCtx(
  masters: number,
  workers: number,
  state?: Partial<K0sState>,
): RuntimeContext<K0sState> {
  return { ...k0sBase(masters, workers), state: { nodeLocalBalancing: masters > 1, ...state } };
}

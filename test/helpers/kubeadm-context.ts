// A kubeadm driver context for unit tests: masters 10.0.0.1.., workers 10.0.0.11.., and a driver state made
// once by the real prepare (real CAs and leaves, so hashes and files are what a cluster would get).

import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { kubeadmRuntime } from '../../src/runtime/kubeadm/driver.js';
import { makeClusterCas } from '../../src/runtime/kubeadm/pki/index.js';
import type { KubeadmState } from '../../src/runtime/kubeadm/state.js';
import type { ClusterHost, PrepareContext, RuntimeContext } from '../../src/runtime/types.js';

export const master = (i: number): ClusterHost => ({
  ip: `10.0.0.${i + 1}`,
  hostname: `m${i}`,
  roles: ['master'],
});
export const worker = (i: number): ClusterHost => ({
  ip: `10.0.0.${i + 11}`,
  hostname: `w${i}`,
  roles: ['node'],
});

export function kubeadmBase(masters: number, workers: number, version = 'v1.29.3'): PrepareContext {
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

let shared: Promise<KubeadmState> | undefined;

/**
 * CAs of a cluster made before, with ECDSA keys (the leaves follow the CA's kind) so that a test makes its
 * dozens of certificates in well under a second; prepare keeps them as it keeps any previous CAs.
 */
export async function previousWithCas(): Promise<KubeadmState> {
  return {
    cas: await makeClusterCas(new Date(), 'ECDSA-P256'),
    masters: {},
    namesDigest: '',
    bootstrapToken: '',
    tokenExpires: 0,
  };
}

/** The state of a 3-master cluster, made once per test process. */
export function sharedState(): Promise<KubeadmState> {
  shared ??= previousWithCas().then((p) => kubeadmRuntime.prepare(kubeadmBase(3, 0), p));
  return shared;
}

export async function kubeadmCtx(masters: number, workers: number): Promise<RuntimeContext<KubeadmState>> {
  return { ...kubeadmBase(masters, workers), state: await sharedState() };
}

// What the fault campaign needs of each runtime's example image, shared by its CI form
// (faults-*.test.ts) and its long form (bench/chaos.ts): how its hosts boot, the id of its driver's node
// join step, and the versions of its upgrade chain.
import { join } from 'node:path';
import { buildExampleImage, type ExampleDistribution } from '../../examples/example-image.js';
import type { HostInit } from '../../src/sandbox/index.js';
import type { UpgradeTarget } from './campaign.js';

export interface ChaosRuntime {
  distribution: ExampleDistribution;
  /** kubeadm's example check hook wants systemd, as on the servers kubeadm is made for. */
  init?: HostInit;
  /** The step of its driver that joins a node: where the link cut and the reboot strike. */
  joinStep: string;
  /**
   * Versions one minor apart, the example's own (the CI form's first) second to last: the cluster is
   * installed on the first, then upgraded up the rest. Empty where the runtime has no upgrade (k3s refuses
   * a version change).
   */
  versions: string[];
}

export const chaosRuntimes = {
  k3s: { distribution: 'k3s', joinStep: 'join', versions: [] },
  kubeadm: {
    distribution: 'kubeadm',
    init: 'systemd',
    joinStep: 'join',
    versions: ['v1.28.15', 'v1.29.3', 'v1.30.3'],
  },
  // the k0s driver's worker join step is `join` too (src/runtime/k0s/workers.ts)
  k0s: {
    distribution: 'k0s',
    joinStep: 'join',
    versions: ['v1.28.14+k0s.0', 'v1.29.4+k0s.0', 'v1.30.2+k0s.0'],
  },
} satisfies Record<string, ChaosRuntime>;

/** The example image's tag for `version` (k3s has one version: v1.28); OCI tags have no `+`. */
export function exampleTag(distribution: ExampleDistribution, version?: string): string {
  return distribution === 'k3s'
    ? 'example/k3s:v1.28'
    : `example/${distribution}:${version?.replace('+', '-')}`;
}

/** The kubelet version a node of `version` reports: k0s's own suffix dropped. */
const kubeletOf = (version: string) => version.replace(/\+k0s\.\d+$/, '');

/** Builds into BERTH_HOME's store the images of `versions` after the first, the upgrade chain from it. */
export async function buildUpgradeChain(
  distribution: ExampleDistribution,
  versions: string[],
  home: string,
): Promise<UpgradeTarget[]> {
  const chain: UpgradeTarget[] = [];
  for (const version of versions.slice(1)) {
    const image = exampleTag(distribution, version);
    await buildExampleImage({ tag: image, workDir: join(home, 'build'), distribution, version });
    chain.push({ image, kubelet: kubeletOf(version) });
  }
  return chain;
}

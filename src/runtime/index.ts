// Picks the distribution driver from a cluster image's labels.

import { EnvironmentError } from '../util/errors.js';
import { k3sRuntime } from './k3s/driver.js';
import type { Runtime } from './types.js';

export const distributionLabels = ['apps.sealos.io/distribution', 'sealos.io.distribution'] as const;

/** The distribution an image declares; no label means kubeadm Kubernetes. */
export function distributionOf(labels: Record<string, string>): string {
  for (const key of distributionLabels) {
    const v = labels[key]?.trim();
    if (v) return v.toLowerCase();
  }
  return 'kubeadm';
}

export function runtimeFor(labels: Record<string, string>): Runtime {
  const name = distributionOf(labels);
  if (name === 'k3s') return k3sRuntime;
  if (name === 'kubeadm' || name === 'k0s') {
    throw new EnvironmentError(
      `the ${name} distribution is not supported by this berth yet; use a k3s image`,
    );
  }
  throw new EnvironmentError(
    `the image's distribution label names "${name}", which berth does not know; use a k3s image`,
  );
}

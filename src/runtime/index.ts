// Picks the distribution driver from a cluster image's labels: no distribution label (or kubeadm) is
// kubeadm Kubernetes, as for the published sealos images.

import { distribution } from '../image/contract.js';
import { k0sRuntime } from './k0s/driver.js';
import { k3sRuntime } from './k3s/driver.js';
import { kubeadmRuntime } from './kubeadm/driver.js';
import type { Runtime } from './types.js';

export function runtimeFor(labels: Record<string, string>): Runtime {
  const name = distribution(labels);
  if (name === 'k3s') return k3sRuntime;
  if (name === 'k0s') return k0sRuntime;
  return kubeadmRuntime;
}

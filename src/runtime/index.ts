// Picks the distribution driver from a cluster image's labels: no distribution label (or kubeadm) is
// kubeadm Kubernetes, as for the published sealos images.

import { distribution } from '../image/contract.js';
import { EnvironmentError } from '../util/errors.js';
import { k3sRuntime } from './k3s/driver.js';
import { kubeadmRuntime } from './kubeadm/driver.js';
import type { Runtime } from './types.js';

export function runtimeFor(labels: Record<string, string>): Runtime {
  const name = distribution(labels);
  if (name === 'k3s') return k3sRuntime;
  if (name === 'kubeadm') return kubeadmRuntime;
  throw new EnvironmentError(
    `the ${name} distribution is not supported by this berth yet; use a k3s or kubeadm image`,
  );
}

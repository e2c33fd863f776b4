import { InputError } from '../util/errors.js';

// The Kubernetes version a cluster image carries, as numbers, so that a driver can pick config API
// versions (kubeadm v1beta3 or v1beta4) and refuse what it cannot install.

export interface KubeVersion {
  /** As the image wrote it, e.g. v1.28.14+k3s1. */
  text: string;
  major: number;
  minor: number;
  patch: number;
  /** What follows `+`, e.g. k3s1; empty when nothing does. */
  build: string;
}

/** Parses `v1.28.14+k3s1` (the leading v optional); `source` names the label in the error. */
export function parseKubeVersion(text: string, source = 'version'): KubeVersion {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+([0-9A-Za-z.-]+))?$/.exec(text.trim());
  if (!m) throw new InputError(`${source}: "${text}" is not a Kubernetes version like v1.28.14`);
  return {
    text: text.trim(),
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3] ?? 0),
    build: m[4] ?? '',
  };
}

/** Negative, zero or positive as `a` is older than, the same minor as, or newer than major.minor. */
export function compareMinor(a: KubeVersion, major: number, minor: number): number {
  return a.major !== major ? a.major - major : a.minor - minor;
}

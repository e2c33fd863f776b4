import { homedir } from 'node:os';
import { join } from 'node:path';

export const K3S_VERSION = 'v1.28.14+k3s1';
export const K3S_COMMIT = '3ef2bdb1';
export const K3S_GO_VERSION = 'go1.22.6';
export const CONTAINERD_VERSION = 'containerd://1.7.20-k3s1';

/**
 * The one setting real k3s lacks: the node password and the default config/kubeconfig live under /etc/rancher
 * with no flag to move them, so a test running several nodes on one machine points this at a temp dir.
 */
export function etcRancher(): string {
  return process.env.BERTH_STANDIN_ETC_RANCHER_DIR || '/etc/rancher';
}

export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/rancher/k3s' : join(homedir(), '.rancher', 'k3s');
}

export function defaultConfigFile(): string {
  return join(etcRancher(), 'k3s', 'config.yaml');
}

export function defaultKubeconfig(): string {
  return join(etcRancher(), 'k3s', 'k3s.yaml');
}

export function defaultRegistriesFile(): string {
  return join(etcRancher(), 'k3s', 'registries.yaml');
}

export function nodeConfigDir(): string {
  return join(etcRancher(), 'node');
}

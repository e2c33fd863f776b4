// kubeadm's kubelet-start phase: /var/lib/kubelet/config.yaml (the cluster's KubeletConfiguration with
// kubeadm's defaults), kubeadm-flags.env (the node-specific flags), then the kubelet (re)started through
// the init system; failing to restart it is only a warning, as in kubeadm.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { KubeObject } from '../kube-api/kube-object.js';
import { KUBELET_CONFIG, KUBELET_DIR, KUBELET_FLAGS_ENV, MANIFESTS_DIR } from './kubeadm-paths.js';
import { toYaml } from './yaml-write.js';

/** The n-th address of a CIDR (the `kubernetes` Service is .1, cluster DNS .10). */
export function nthAddress(cidr: string, n: number): string {
  const [base] = cidr.split(',')[0].split('/');
  const parts = base.split('.').map(Number);
  const v = (((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3] + n) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** The KubeletConfiguration kubeadm uploads: its defaults under the user's document. */
export function kubeletConfiguration(
  user: KubeObject | undefined,
  cluster: { serviceSubnet: string; dnsDomain: string; certificatesDir: string },
): KubeObject {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { cacheTTL: '0s', enabled: true },
      x509: { clientCAFile: `${cluster.certificatesDir}/ca.crt` },
    },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '0s', cacheUnauthorizedTTL: '0s' } },
    cgroupDriver: 'systemd',
    clusterDNS: [nthAddress(cluster.serviceSubnet, 10)],
    clusterDomain: cluster.dnsDomain,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    rotateCertificates: true,
    staticPodPath: MANIFESTS_DIR,
    ...(user ?? {}),
  };
}

export interface KubeletFlags {
  criSocket: string;
  nodeName: string;
  hostname: string;
  podInfraImage?: string;
  extraArgs: Map<string, string>;
}

export function kubeadmFlagsLine(f: KubeletFlags): string {
  const args = new Map<string, string>([['container-runtime-endpoint', f.criSocket]]);
  if (f.nodeName !== f.hostname) args.set('hostname-override', f.nodeName);
  if (f.podInfraImage) args.set('pod-infra-container-image', f.podInfraImage);
  for (const [k, v] of f.extraArgs) args.set(k, v);
  const rendered = [...args].map(([k, v]) => `--${k}=${v}`).join(' ');
  return `KUBELET_KUBEADM_ARGS="${rendered}"\n`;
}

export function writeKubeletFiles(config: KubeObject, flags: KubeletFlags, log: (l: string) => void): void {
  mkdirSync(KUBELET_DIR, { recursive: true });
  writeFileSync(KUBELET_FLAGS_ENV, kubeadmFlagsLine(flags));
  log(`[kubelet-start] Writing kubelet environment file with flags to file "${KUBELET_FLAGS_ENV}"`);
  writeFileSync(KUBELET_CONFIG, toYaml(config));
  log(`[kubelet-start] Writing kubelet configuration to file "${KUBELET_CONFIG}"`);
}

export function restartKubelet(log: (l: string) => void): void {
  log('[kubelet-start] Starting the kubelet');
  const r = spawnSync('systemctl', ['restart', 'kubelet'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    log(
      `[WARNING] The kubelet service could not be restarted by kubeadm: [${(r.stderr || r.error?.message || '').trim()}]`,
    );
}

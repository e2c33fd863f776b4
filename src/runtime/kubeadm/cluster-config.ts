import { InputError } from '../../util/errors.js';
import type { KubeVersion } from '../kube-version.js';
import type { PrepareContext } from '../types.js';
import { type KubeadmConfig, kubeadmConfig, nodeName } from './config/index.js';
import type { PkiNames } from './pki/index.js';

// The cluster's kubeadm configuration and certificate names, from the driver's context: the one place that
// turns berth's view of the cluster (hosts, VIP, registry, Clusterfile documents) into the config part's
// input, so prepare and every step render the same documents.

/** The image's Kubernetes version; a kubeadm image must declare one. */
export function kubeVersionOf(ctx: Pick<PrepareContext, 'kubeVersion'>): KubeVersion {
  if (!ctx.kubeVersion) {
    throw new InputError(
      'the cluster image has no version label; a kubeadm image must name its Kubernetes version (label version=v1.29.3)',
    );
  }
  return ctx.kubeVersion;
}

export function clusterConfig(ctx: PrepareContext): KubeadmConfig {
  return kubeadmConfig({
    kubeVersion: kubeVersionOf(ctx),
    imageDefaultConfig: ctx.imageDefaultConfig,
    documents: ctx.distributionConfig,
    endpoint: { domain: ctx.apiServerDomain, port: ctx.apiPort },
    vip: ctx.vip,
    masters: ctx.masters,
    nodes: ctx.nodes,
    imageRepository: `${ctx.registry.domain}:${ctx.registry.port}`,
  });
}

/** The names every master's certificates must carry. */
export function pkiNames(ctx: PrepareContext, config: KubeadmConfig): PkiNames {
  return {
    endpoint: ctx.apiServerDomain,
    vip: ctx.vip,
    apiServiceIp: config.apiServiceIp,
    dnsDomain: config.dnsDomain,
    certSANs: config.certSANs,
    masters: ctx.masters.map((m) => ({ ip: m.ip, hostname: nodeName(m) })),
    kubeMinor: kubeVersionOf(ctx).minor,
  };
}

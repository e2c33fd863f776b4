import { posix } from 'node:path';
import { z } from 'zod';
import { clusterApiVersion } from './schema.js';

// The documents a Clusterfile may carry besides the Cluster:
// - `kind: Config` (sealos): a file patch applied to an image's root before it is used;
// - distribution configs, kept as plain objects for the drivers, which merge them over the image defaults:
//   kubeadm InitConfiguration / ClusterConfiguration / JoinConfiguration, KubeletConfiguration,
//   KubeProxyConfiguration; k0s ClusterConfig; and berth's own K3sConfig (below), because k3s reads a flat
//   config.yaml that has no apiVersion/kind of its own.

export const configStrategies = ['merge', 'insert', 'append', 'override'] as const;
export type ConfigStrategy = (typeof configStrategies)[number];

const relativePath = z.string().superRefine((p, ctx) => {
  if (p === '' || posix.isAbsolute(p) || posix.normalize(p).split('/')[0] === '..') {
    ctx.addIssue({
      code: 'custom',
      message: `"${p}" must be a path inside the image root, like etc/kubeadm.yml`,
    });
  }
});

export const configDocSchema = z.strictObject({
  apiVersion: z.literal(clusterApiVersion),
  kind: z.literal('Config'),
  metadata: z.looseObject({ name: z.string().optional() }).optional(),
  spec: z.strictObject({
    path: relativePath,
    data: z.string(),
    /** One image name; without it the patch applies to every image that has the path. */
    match: z.string().min(1).optional(),
    strategy: z.enum(configStrategies).default('override'),
  }),
});

export type ConfigDoc = z.output<typeof configDocSchema>;

/**
 * berth's k3s settings document. `spec.server` holds keys of /etc/rancher/k3s/config.yaml for masters
 * (k3s servers), `spec.agent` the keys for nodes (k3s agents); both are written as k3s reads them
 * (`cluster-cidr: 10.42.0.0/16`, `node-label: [a=b]`), and the driver lays them over the image's k3s.yml.
 *
 *   apiVersion: apps.berth.io/v1alpha1
 *   kind: K3sConfig
 *   spec:
 *     server: { cluster-cidr: 10.42.0.0/16, disable: [traefik] }
 *     agent: { node-label: [disk=ssd] }
 */
export const k3sConfigApiVersion = 'apps.berth.io/v1alpha1';

export const k3sConfigSchema = z.strictObject({
  apiVersion: z.literal(k3sConfigApiVersion),
  kind: z.literal('K3sConfig'),
  metadata: z.looseObject({}).optional(),
  spec: z.strictObject({
    server: z.record(z.string(), z.unknown()).optional(),
    agent: z.record(z.string(), z.unknown()).optional(),
  }),
});

export type Distribution = 'kubeadm' | 'k3s' | 'k0s';

/** Distribution document kinds and the apiVersion group each must use. */
export const distributionKinds: Record<string, { group: string; distribution: Distribution }> = {
  InitConfiguration: { group: 'kubeadm.k8s.io', distribution: 'kubeadm' },
  ClusterConfiguration: { group: 'kubeadm.k8s.io', distribution: 'kubeadm' },
  JoinConfiguration: { group: 'kubeadm.k8s.io', distribution: 'kubeadm' },
  KubeletConfiguration: { group: 'kubelet.config.k8s.io', distribution: 'kubeadm' },
  KubeProxyConfiguration: { group: 'kubeproxy.config.k8s.io', distribution: 'kubeadm' },
  K3sConfig: { group: 'apps.berth.io', distribution: 'k3s' },
  ClusterConfig: { group: 'k0s.k0sproject.io', distribution: 'k0s' },
};

/** A distribution config document as written, for the driver of `distribution`. */
export interface DistributionDoc {
  kind: string;
  apiVersion: string;
  distribution: Distribution;
  object: Record<string, unknown>;
  /** Where it starts in the Clusterfile, for the driver's own error messages. */
  file: string;
  line: number;
  /** The line of each field, keyed by its dotted path (`networking.podSubnet`, `certSANs[0]`). */
  fieldLines?: Record<string, number>;
}

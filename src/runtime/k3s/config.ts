// /etc/rancher/k3s/config.yaml: the image's defaults, then the Clusterfile's k3s documents, then the keys
// berth must control, each layer overriding the one before key by key. Only keys k3s v1.28 accepts are
// written: the server merely warns about unknown keys, but the agent refuses to start on one.

import { parse, stringify } from 'yaml';
import { InputError } from '../../util/errors.js';
import { log } from '../../util/log.js';

const common = [
  'config',
  'c',
  'debug',
  'v',
  'vmodule',
  'log',
  'l',
  'alsologtostderr',
  'token',
  't',
  'token-file',
  'server',
  's',
  'data-dir',
  'd',
  'node-name',
  'with-node-id',
  'node-label',
  'node-taint',
  'image-credential-provider-bin-dir',
  'image-credential-provider-config',
  'selinux',
  'lb-server-port',
  'protect-kernel-defaults',
  'container-runtime-endpoint',
  'default-runtime',
  'image-service-endpoint',
  'pause-image',
  'snapshotter',
  'private-registry',
  'disable-default-registry-endpoint',
  'airgap-extra-registry',
  'node-ip',
  'i',
  'node-external-ip',
  'resolv-conf',
  'flannel-iface',
  'flannel-conf',
  'flannel-cni-conf',
  'kubelet-arg',
  'kube-proxy-arg',
  'enable-pprof',
  'rootless',
  'prefer-bundled-bin',
  'docker',
  'vpn-auth',
  'vpn-auth-file',
];

/** `k3s server` options of v1.28 (flags whose 1.28 presence is unverified are left out). */
export const k3sServerKeys: ReadonlySet<string> = new Set([
  ...common,
  'bind-address',
  'https-listen-port',
  'advertise-address',
  'advertise-port',
  'tls-san',
  'tls-san-security',
  'cluster-cidr',
  'service-cidr',
  'service-node-port-range',
  'cluster-dns',
  'cluster-domain',
  'flannel-backend',
  'flannel-ipv6-masq',
  'flannel-external-ip',
  'egress-selector-mode',
  'servicelb-namespace',
  'write-kubeconfig',
  'o',
  'write-kubeconfig-mode',
  'write-kubeconfig-group',
  'helm-job-image',
  'agent-token',
  'agent-token-file',
  'cluster-init',
  'cluster-reset',
  'cluster-reset-restore-path',
  'kube-apiserver-arg',
  'etcd-arg',
  'kube-controller-manager-arg',
  'kube-scheduler-arg',
  'kube-cloud-controller-manager-arg',
  'kube-controller-arg',
  'kube-cloud-controller-arg',
  'kine-tls',
  'datastore-endpoint',
  'datastore-cafile',
  'datastore-certfile',
  'datastore-keyfile',
  'etcd-expose-metrics',
  'etcd-disable-snapshots',
  'etcd-snapshot-name',
  'etcd-snapshot-schedule-cron',
  'etcd-snapshot-retention',
  'etcd-snapshot-dir',
  'etcd-snapshot-compress',
  'etcd-s3',
  'etcd-s3-endpoint',
  'etcd-s3-endpoint-ca',
  'etcd-s3-skip-ssl-verify',
  'etcd-s3-access-key',
  'etcd-s3-secret-key',
  'etcd-s3-bucket',
  'etcd-s3-region',
  'etcd-s3-folder',
  'etcd-s3-insecure',
  'etcd-s3-timeout',
  'default-local-storage-path',
  'disable',
  'disable-scheduler',
  'disable-cloud-controller',
  'disable-kube-proxy',
  'disable-network-policy',
  'disable-helm-controller',
  'disable-apiserver',
  'disable-controller-manager',
  'disable-etcd',
  'embedded-registry',
  'supervisor-metrics',
  'system-default-registry',
  'secrets-encryption',
  'disable-agent',
]);

/** `k3s agent` options of v1.28. */
export const k3sAgentKeys: ReadonlySet<string> = new Set([...common, 'disable-apiserver-lb']);

export type K3sRole = 'server' | 'agent';

/** A config key without k3s' "append" suffix (`node-label+`). */
function baseKey(key: string): string {
  return key.endsWith('+') ? key.slice(0, -1) : key;
}

const documentFields = new Set(['apiVersion', 'kind', 'metadata']);

function parseImageDefaults(text: string | undefined): Record<string, unknown> {
  if (!text?.trim()) return {};
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new InputError(
      `the image's k3s config (etc/k3s.yml) is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InputError("the image's k3s config (etc/k3s.yml) must be a YAML mapping of k3s options");
  }
  return doc as Record<string, unknown>;
}

function layer(
  into: Record<string, unknown>,
  doc: Record<string, unknown>,
  role: K3sRole,
  source: 'image' | 'clusterfile',
): void {
  const allowed = role === 'server' ? k3sServerKeys : k3sAgentKeys;
  for (const [key, value] of Object.entries(doc)) {
    if (documentFields.has(key)) continue;
    const base = baseKey(key);
    if (!k3sServerKeys.has(base) && !k3sAgentKeys.has(base)) {
      if (source === 'clusterfile') {
        throw new InputError(
          `Clusterfile k3s config: "${key}" is not a k3s v1.28 option; fix its spelling or remove it`,
        );
      }
      log.warn(`the image's k3s config sets "${key}", which k3s v1.28 does not know; it is left out`);
      continue;
    }
    if (allowed.has(base)) into[key] = value;
  }
}

function asList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export interface K3sConfigInput {
  role: K3sRole;
  imageDefaultConfig?: string;
  distributionConfig: Record<string, unknown>[];
  /** Keys berth controls; they win. `tls-san` is merged with the user's instead. */
  required: Record<string, unknown>;
}

export function k3sConfigYaml(input: K3sConfigInput): string {
  const merged: Record<string, unknown> = {};
  layer(merged, parseImageDefaults(input.imageDefaultConfig), input.role, 'image');
  for (const doc of input.distributionConfig) layer(merged, doc, input.role, 'clusterfile');
  for (const [key, value] of Object.entries(input.required)) {
    if (key === 'tls-san') {
      merged[key] = [...new Set([...asList(value), ...asList(merged[key]), ...asList(merged['tls-san+'])])];
      delete merged['tls-san+'];
    } else {
      merged[key] = value;
      delete merged[`${key}+`];
    }
  }
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return stringify(merged, { aliasDuplicateObjects: false });
}

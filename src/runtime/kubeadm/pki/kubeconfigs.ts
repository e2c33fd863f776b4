// The kubeconfigs kubeadm writes in /etc/kubernetes on a master, each with its own client certificate
// from the cluster CA and the user and groups the API server's RBAC bootstrap policy expects.

import { stringify } from 'yaml';
import { type Subject, signLeaf } from './certificate.js';
import type { ClusterCas } from './cluster-cas.js';
import { clusterAdminsGroup } from './master-files.js';

export interface KubeconfigOptions {
  /** ClusterConfiguration.clusterName: kubernetes. */
  clusterName: string;
  /** https://host:port the components reach the API server at. */
  server: string;
  /** The master's node name (kubelet.conf, which kubeadm makes itself with the bootstrap flow, has it). */
  nodeName: string;
  kubeMinor: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(
  caCert: string,
  opts: KubeconfigOptions,
  user: string,
  cert: string,
  key: string,
): string {
  const context = `${user}@${opts.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { cluster: { 'certificate-authority-data': b64(caCert), server: opts.server }, name: opts.clusterName },
    ],
    contexts: [{ context: { cluster: opts.clusterName, user }, name: context }],
    'current-context': context,
    preferences: {},
    users: [{ name: user, user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }],
  });
}

/** admin.conf, super-admin.conf (1.29+), controller-manager.conf, scheduler.conf: file name -> content. */
export async function masterKubeconfigs(
  cas: ClusterCas,
  opts: KubeconfigOptions,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const users: Record<string, Subject> = {
    'admin.conf': { cn: 'kubernetes-admin', o: [clusterAdminsGroup(opts.kubeMinor)] },
    ...(opts.kubeMinor >= 29
      ? { 'super-admin.conf': { cn: 'kubernetes-super-admin', o: ['system:masters'] } }
      : {}),
    'controller-manager.conf': { cn: 'system:kube-controller-manager' },
    'scheduler.conf': { cn: 'system:kube-scheduler' },
  };
  const entries = await Promise.all(
    Object.entries(users).map(async ([file, subject]) => {
      const pem = await signLeaf(cas.ca, { subject, usages: ['client'] }, now);
      return [file, kubeconfig(cas.ca.cert, opts, subject.cn, pem.cert, pem.key)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

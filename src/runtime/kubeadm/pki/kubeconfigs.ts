// The kubeconfigs kubeadm writes in /etc/kubernetes on a master, each with its own client certificate
// from the cluster CA and the user and groups the API server's RBAC bootstrap policy expects.

import { stringify } from 'yaml';
import { type Subject, signLeaf } from './certificate.js';
import type { ClusterCas } from './cluster-cas.js';
import { clusterAdminsGroup } from './master-files.js';

export interface KubeconfigOptions {
  /** ClusterConfiguration.clusterName: kubernetes. */
  clusterName: string;
  /** https://host:port of the control-plane endpoint: admin.conf and super-admin.conf name it. */
  server: string;
  /**
   * https://<advertise address>:<bind port> of this master's own API server, which kubeadm writes into
   * controller-manager.conf and scheduler.conf so that they never depend on a balancer; `server` when absent.
   */
  localServer?: string;
  /** The master's node name (kubelet.conf, which kubeadm makes itself with the bootstrap flow, has it). */
  nodeName: string;
  kubeMinor: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(
  caCert: string,
  opts: KubeconfigOptions,
  server: string,
  user: string,
  cert: string,
  key: string,
): string {
  const context = `${user}@${opts.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ cluster: { 'certificate-authority-data': b64(caCert), server }, name: opts.clusterName }],
    contexts: [{ context: { cluster: opts.clusterName, user }, name: context }],
    'current-context': context,
    preferences: {},
    users: [{ name: user, user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }],
  });
}

/**
 * admin.conf, super-admin.conf (1.29+), controller-manager.conf, scheduler.conf: file name -> content.
 * kubeadm writes super-admin.conf on the first master only (`init`), never on a joining one.
 */
export async function masterKubeconfigs(
  cas: ClusterCas,
  opts: KubeconfigOptions,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const local = opts.localServer ?? opts.server;
  const users: Record<string, { subject: Subject; server: string }> = {
    'admin.conf': {
      subject: { cn: 'kubernetes-admin', o: [clusterAdminsGroup(opts.kubeMinor)] },
      server: opts.server,
    },
    ...(opts.kubeMinor >= 29
      ? {
          'super-admin.conf': {
            subject: { cn: 'kubernetes-super-admin', o: ['system:masters'] },
            server: opts.server,
          },
        }
      : {}),
    'controller-manager.conf': { subject: { cn: 'system:kube-controller-manager' }, server: local },
    'scheduler.conf': { subject: { cn: 'system:kube-scheduler' }, server: local },
  };
  const entries = await Promise.all(
    Object.entries(users).map(async ([file, { subject, server }]) => {
      const pem = await signLeaf(cas.ca, { subject, usages: ['client'] }, now);
      return [file, kubeconfig(cas.ca.cert, opts, server, subject.cn, pem.cert, pem.key)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

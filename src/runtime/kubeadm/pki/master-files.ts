// Every file kubeadm keeps under /etc/kubernetes/pki on a master, made here from the cluster's CAs:
// the CAs themselves, the service-account keys and the leaves kubeadm's cert list names, with its
// subjects and usages.

import { apiServerAltNames, etcdAltNames } from './alt-names.js';
import { type LeafSpec, type Pem, signLeaf } from './certificate.js';
import type { ClusterCas } from './cluster-cas.js';
import type { MasterIdentity, PkiNames } from './names.js';

/** The group kubeadm puts its admin identities in from 1.29 (system:masters before). */
export function clusterAdminsGroup(kubeMinor: number | undefined): string {
  return kubeMinor === undefined || kubeMinor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters';
}

interface Leaf extends LeafSpec {
  /** Path under pki/ without .crt/.key. */
  base: string;
  ca: keyof Omit<ClusterCas, 'sa'>;
}

function leaves(names: PkiNames, master: MasterIdentity): Leaf[] {
  const etcd = etcdAltNames(master);
  return [
    {
      base: 'apiserver',
      ca: 'ca',
      subject: { cn: 'kube-apiserver' },
      usages: ['server'],
      alt: apiServerAltNames(names, master),
    },
    {
      base: 'apiserver-kubelet-client',
      ca: 'ca',
      subject: { cn: 'kube-apiserver-kubelet-client', o: [clusterAdminsGroup(names.kubeMinor)] },
      usages: ['client'],
    },
    {
      base: 'front-proxy-client',
      ca: 'frontProxyCa',
      subject: { cn: 'front-proxy-client' },
      usages: ['client'],
    },
    // etcd 3.2+ also needs client auth on its serving certificate, which kubeadm therefore gives it
    {
      base: 'etcd/server',
      ca: 'etcdCa',
      subject: { cn: master.hostname },
      usages: ['server', 'client'],
      alt: etcd,
    },
    {
      base: 'etcd/peer',
      ca: 'etcdCa',
      subject: { cn: master.hostname },
      usages: ['server', 'client'],
      alt: etcd,
    },
    {
      base: 'etcd/healthcheck-client',
      ca: 'etcdCa',
      subject: { cn: 'kube-etcd-healthcheck-client' },
      usages: ['client'],
    },
    {
      base: 'apiserver-etcd-client',
      ca: 'etcdCa',
      subject: { cn: 'kube-apiserver-etcd-client' },
      usages: ['client'],
    },
  ];
}

const caFiles: Record<keyof Omit<ClusterCas, 'sa'>, string> = {
  ca: 'ca',
  frontProxyCa: 'front-proxy-ca',
  etcdCa: 'etcd/ca',
};

/** Path relative to pki/ -> content, for `master`. */
export async function masterPkiFiles(
  cas: ClusterCas,
  names: PkiNames,
  master: MasterIdentity,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const put = (base: string, pem: Pem) => {
    files[`${base}.crt`] = pem.cert;
    files[`${base}.key`] = pem.key;
  };
  for (const [field, base] of Object.entries(caFiles)) put(base, cas[field as keyof typeof caFiles]);
  files['sa.key'] = cas.sa.privateKey;
  files['sa.pub'] = cas.sa.publicKey;
  const list = leaves(names, master);
  const signed = await Promise.all(list.map((l) => signLeaf(cas[l.ca], l, now)));
  for (const [i, l] of list.entries()) put(l.base, signed[i] as Pem);
  return files;
}

// What the cluster's certificates must be valid for, as berth knows it before any host is touched.

export interface MasterIdentity {
  ip: string;
  hostname: string;
}

export interface PkiNames {
  /** The control-plane endpoint name: apiserver.cluster.local. */
  endpoint: string;
  vip: string;
  /** The `kubernetes` Service's address: 10.96.0.1. */
  apiServiceIp: string;
  /** cluster.local */
  dnsDomain: string;
  /** The user's extra SANs (names or addresses). */
  certSANs: string[];
  masters: MasterIdentity[];
  /**
   * The image's Kubernetes minor version: before 1.29 the API server's kubelet client is in
   * system:masters, from 1.29 in kubeadm:cluster-admins. The newest behaviour when absent.
   */
  kubeMinor?: number;
}

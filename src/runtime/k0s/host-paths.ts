// Where k0s and berth's k0s pieces keep their files on a host (k0s's defaults, reference
// distributions/k0s.md §3), named once for the steps, removal and reset.

export const k0sBin = '/usr/local/bin/k0s';
export const etcDir = '/etc/k0s';
export const configFile = `${etcDir}/k0s.yaml`;
/** containerd drop-ins k0s merges into its containerd config. */
export const containerdDropInDir = `${etcDir}/containerd.d`;
/** The registry hosts directory berth's containerd drop-in points k0s's containerd at. */
export const registryHostsDir = `${etcDir}/certs.d`;
/** Where a joining host finds its join token until it has joined; removed right after. */
export const tokenFile = `${etcDir}/join-token`;
export const dataDir = '/var/lib/k0s';
export const runDir = '/run/k0s';
export const pkiDir = `${dataDir}/pki`;
export const etcdDir = `${dataDir}/etcd`;
export const adminConf = `${pkiDir}/admin.conf`;
/** The output of `k0s kubeconfig admin`, which berth fetches from the first controller. */
export const berthAdminConf = `${dataDir}/berth-admin.conf`;
export const kubeletConf = `${dataDir}/kubelet.conf`;
/** Paths berth created (absent before it ran); reset removes exactly these. */
export const createdRecord = '/etc/berth/k0s-created';

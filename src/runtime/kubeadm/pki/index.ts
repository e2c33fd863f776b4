// The certificates, keys and kubeconfigs berth makes for a kubeadm cluster, on the machine running berth
// (in the driver's prepare): pure data in, PEM text out, with @peculiar/x509 on Node's WebCrypto.

export type { Pem } from './certificate.js';
export { type ClusterCas, makeClusterCas } from './cluster-cas.js';
export { type CertificateFacts, certificatesIn, describeCertificate } from './describe.js';
export { caCertHash, newBootstrapToken } from './discovery.js';
export type { EncryptionAlgorithm } from './keys.js';
export { type KubeconfigOptions, masterKubeconfigs } from './kubeconfigs.js';
export { masterPkiFiles } from './master-files.js';
export type { MasterIdentity, PkiNames } from './names.js';

import type { DistributionDoc } from '../../../clusterfile/documents.js';
import { isMapping } from '../../../util/mapping.js';
import type { KubeVersion } from '../../kube-version.js';
import type { ClusterHost } from '../../types.js';
import { targetApi } from './api-version.js';
import { mergeLayers } from './layers.js';
import { apiServiceIp, checkNetworks } from './networks.js';
import { defaultCgroupDriver, nodeRegistration, yamlDocuments } from './render.js';

// The kubeadm documents of a cluster: berth's defaults, the image's etc/kubeadm.yml and the Clusterfile's
// documents merged in the config API of the image's Kubernetes version, checked (fields, address plan)
// here, before any host is touched. Pure: the driver writes the text it returns.

export { checkNetworks, type NetworkInput } from './networks.js';
export { nodeName } from './render.js';

/** The lifetime of the bootstrap token of `initConfig` (kubeadm's default). */
export const bootstrapTokenTtl = '24h0m0s';

export interface KubeadmConfigInput {
  /** The image's; older than 1.22 is refused (InputError, one line). */
  kubeVersion: KubeVersion;
  /** The image's etc/kubeadm.yml text (multi-document YAML), if any. */
  imageDefaultConfig?: string;
  /** The Clusterfile's kubeadm documents, with file and line. */
  documents: DistributionDoc[];
  /** apiserver.cluster.local, 6443 */
  endpoint: { domain: string; port: number };
  vip: string;
  masters: ClusterHost[];
  nodes: ClusterHost[];
  /** e.g. sealos.hub:5000 (what the image's kubeadm.yml says wins). */
  imageRepository?: string;
}

export interface JoinParams {
  controlPlane: boolean;
  /** id.secret */
  token: string;
  /** sha256:<hex> */
  caCertHash: string;
  /** host:port the joiner talks to */
  apiServerEndpoint: string;
  certificateKey?: string;
}

export interface KubeadmConfig {
  apiVersion: 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';
  /** v1.29.3 */
  kubernetesVersion: string;
  podSubnet: string;
  serviceSubnet: string;
  /** cluster.local */
  dnsDomain: string;
  /** certSANs of the ClusterConfiguration (the user's, merged); the pki adds the standard ones. */
  certSANs: string[];
  /** The service IP of the `kubernetes` Service (first address of serviceSubnet). */
  apiServiceIp: string;
  /** Fields of the documents that were left out or overridden, one line each, to log. */
  warnings: string[];
  /** YAML documents for `kubeadm init --config` on the first master; the token lives `bootstrapTokenTtl`. */
  initConfig(master: ClusterHost, bootstrapToken: string): string;
  /** YAML documents for `kubeadm join --config` on a joining host. */
  joinConfig(host: ClusterHost, join: JoinParams): string;
}

/** Throws InputError naming file:line, document kind and field for a field not in the API. */
export function kubeadmConfig(input: KubeadmConfigInput): KubeadmConfig {
  const api = targetApi(input.kubeVersion);
  const clusterCgroupDriver = input.masters[0]?.cgroupDriver ?? defaultCgroupDriver;
  const merged = mergeLayers({ ...input, cgroupDriver: clusterCgroupDriver }, api);
  const { docs } = merged;
  const cluster = docs.ClusterConfiguration;
  const networking = isMapping(cluster.networking) ? cluster.networking : {};
  const podSubnet = String(networking.podSubnet);
  const serviceSubnet = String(networking.serviceSubnet);
  checkNetworks({
    podSubnet,
    serviceSubnet,
    vip: input.vip,
    hosts: [...input.masters, ...input.nodes],
    origin: {
      podSubnet: merged.origin('ClusterConfiguration', ['networking', 'podSubnet']),
      serviceSubnet: merged.origin('ClusterConfiguration', ['networking', 'serviceSubnet']),
    },
  });
  const apiServer = isMapping(cluster.apiServer) ? cluster.apiServer : {};
  const certSANs = Array.isArray(apiServer.certSANs) ? apiServer.certSANs.map(String) : [];
  const port = input.endpoint.port;

  return {
    apiVersion: `kubeadm.k8s.io/${api}`,
    kubernetesVersion: String(cluster.kubernetesVersion),
    podSubnet,
    serviceSubnet,
    dnsDomain: String(networking.dnsDomain),
    certSANs,
    apiServiceIp: apiServiceIp(serviceSubnet),
    warnings: merged.warnings,
    initConfig(master, bootstrapToken) {
      const init = structuredClone(docs.InitConfiguration);
      // berth's token alone, for kubeadm's default day: berth replaces it before it runs out, which a
      // ttl or expiry of the user's own would make berth misjudge.
      init.bootstrapTokens = [{ token: bootstrapToken, ttl: bootstrapTokenTtl }];
      init.nodeRegistration = nodeRegistration(init.nodeRegistration, {
        api,
        host: master,
        clusterCgroupDriver,
      });
      init.localAPIEndpoint = { advertiseAddress: master.ip, bindPort: port };
      return yamlDocuments([init, cluster, docs.KubeletConfiguration, docs.KubeProxyConfiguration]);
    },
    joinConfig(host, join) {
      const doc = structuredClone(docs.JoinConfiguration);
      doc.nodeRegistration = nodeRegistration(doc.nodeRegistration, { api, host, clusterCgroupDriver });
      const discovery = isMapping(doc.discovery) ? doc.discovery : {};
      doc.discovery = {
        ...(discovery.timeout === undefined ? {} : { timeout: discovery.timeout }),
        bootstrapToken: {
          apiServerEndpoint: join.apiServerEndpoint,
          token: join.token,
          caCertHashes: [join.caCertHash],
        },
        tlsBootstrapToken: join.token,
      };
      if (join.controlPlane) {
        doc.controlPlane = {
          localAPIEndpoint: { advertiseAddress: host.ip, bindPort: port },
          ...(join.certificateKey ? { certificateKey: join.certificateKey } : {}),
        };
      } else {
        delete doc.controlPlane;
      }
      return yamlDocuments([doc]);
    },
  };
}

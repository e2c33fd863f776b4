// The ClusterConfiguration as kubeadm defaults it, whichever API version it came in, and the per-node
// registration fields of Init/JoinConfiguration: what every phase reads.
import { defaultNodeName, detectNodeIp } from '../k3s/host-address.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { extraArgs } from './config-load.js';
import { controlPlaneImages, DEFAULT_CRI_SOCKET, ETCD_DATA_DIR, PKI_DIR } from './kubeadm-paths.js';

export interface ClusterSettings {
  raw: KubeObject;
  kubernetesVersion: string;
  clusterName: string;
  controlPlaneEndpoint?: string;
  serviceSubnet: string;
  podSubnet?: string;
  dnsDomain: string;
  certificatesDir: string;
  imageRepository: string;
  certSANs: string[];
  etcdDataDir: string;
  etcdServerSANs: string[];
  etcdPeerSANs: string[];
  extra: {
    apiserver: Map<string, string>;
    controllerManager: Map<string, string>;
    scheduler: Map<string, string>;
    etcd: Map<string, string>;
  };
  images: ReturnType<typeof controlPlaneImages>;
}

export function clusterSettings(
  doc: KubeObject | undefined,
  gitVersion: string,
  minor: number,
): ClusterSettings {
  const c = doc ?? {};
  const repo = String(c.imageRepository ?? 'registry.k8s.io');
  const version = String(c.kubernetesVersion ?? gitVersion);
  const local = c.etcd?.local ?? {};
  return {
    raw: {
      apiVersion: c.apiVersion ?? (minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3'),
      kind: 'ClusterConfiguration',
      ...c,
      kubernetesVersion: version,
      certificatesDir: c.certificatesDir ?? PKI_DIR,
      clusterName: c.clusterName ?? 'kubernetes',
      imageRepository: repo,
      networking: { dnsDomain: 'cluster.local', serviceSubnet: '10.96.0.0/12', ...(c.networking ?? {}) },
    },
    kubernetesVersion: version,
    clusterName: String(c.clusterName ?? 'kubernetes'),
    ...(c.controlPlaneEndpoint ? { controlPlaneEndpoint: String(c.controlPlaneEndpoint) } : {}),
    serviceSubnet: String(c.networking?.serviceSubnet ?? '10.96.0.0/12'),
    ...(c.networking?.podSubnet ? { podSubnet: String(c.networking.podSubnet) } : {}),
    dnsDomain: String(c.networking?.dnsDomain ?? 'cluster.local'),
    certificatesDir: String(c.certificatesDir ?? PKI_DIR),
    imageRepository: repo,
    certSANs: (c.apiServer?.certSANs as string[]) ?? [],
    etcdDataDir: String(local.dataDir ?? ETCD_DATA_DIR),
    etcdServerSANs: (local.serverCertSANs as string[]) ?? [],
    etcdPeerSANs: (local.peerCertSANs as string[]) ?? [],
    extra: {
      apiserver: extraArgs(c.apiServer?.extraArgs),
      controllerManager: extraArgs(c.controllerManager?.extraArgs),
      scheduler: extraArgs(c.scheduler?.extraArgs),
      etcd: extraArgs(local.extraArgs),
    },
    images: controlPlaneImages(repo, version, minor),
  };
}

export interface NodeSettings {
  name: string;
  criSocket: string;
  taints?: KubeObject[];
  kubeletExtraArgs: Map<string, string>;
  ignorePreflightErrors: string[];
  advertiseAddress: string;
  bindPort: number;
}

export function nodeSettings(
  registration: KubeObject | undefined,
  endpoint: KubeObject | undefined,
): NodeSettings {
  const r = registration ?? {};
  return {
    name: String(r.name ?? defaultNodeName()),
    criSocket: String(r.criSocket ?? DEFAULT_CRI_SOCKET),
    ...(Array.isArray(r.taints) ? { taints: r.taints } : {}),
    kubeletExtraArgs: extraArgs(r.kubeletExtraArgs),
    ignorePreflightErrors: (r.ignorePreflightErrors as string[]) ?? [],
    advertiseAddress: String(endpoint?.advertiseAddress ?? detectNodeIp()),
    bindPort: Number(endpoint?.bindPort ?? 6443),
  };
}

/** host:port of the control-plane endpoint, or of this node's API server when none is set. */
export function endpointOf(c: ClusterSettings, n: NodeSettings): string {
  if (!c.controlPlaneEndpoint) return `${n.advertiseAddress}:${n.bindPort}`;
  return c.controlPlaneEndpoint.includes(':')
    ? c.controlPlaneEndpoint
    : `${c.controlPlaneEndpoint}:${n.bindPort}`;
}

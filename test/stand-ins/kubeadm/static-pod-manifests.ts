// The static pod manifests kubeadm writes to /etc/kubernetes/manifests: the same flags (sorted, extraArgs
// merged over the defaults), host paths, labels, annotations, probes and priority as kubeadm 1.27–1.31.
import type { KubeObject } from '../kube-api/kube-object.js';

export interface ControlPlaneSpec {
  nodeName: string;
  advertiseAddress: string;
  bindPort: number;
  serviceSubnet: string;
  podSubnet?: string;
  dnsDomain: string;
  clusterName: string;
  certificatesDir: string;
  etcdDataDir: string;
  images: { apiserver: string; controllerManager: string; scheduler: string; etcd: string };
  extraArgs: {
    apiserver: Map<string, string>;
    controllerManager: Map<string, string>;
    scheduler: Map<string, string>;
    etcd: Map<string, string>;
  };
  /** `name=peerURL` of the members already in etcd (a control-plane join), else just this one. */
  initialCluster?: string[];
}

function command(binary: string, defaults: Record<string, string>, extra: Map<string, string>): string[] {
  const args = new Map(Object.entries(defaults));
  for (const [k, v] of extra) args.set(k, v);
  return [binary, ...[...args.keys()].sort().map((k) => `--${k}=${args.get(k)}`)];
}

const hostPathVolume = (name: string, path: string, type: string) => ({ hostPath: { path, type }, name });
const mount = (name: string, mountPath: string, readOnly = true) => ({
  mountPath,
  name,
  ...(readOnly ? { readOnly: true } : {}),
});

function probe(
  host: string,
  path: string,
  port: number,
  scheme: string,
  failureThreshold: number,
): KubeObject {
  return {
    failureThreshold,
    httpGet: { host, path, port, scheme },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 15,
  };
}

function pod(
  name: string,
  annotations: Record<string, string> | undefined,
  container: KubeObject,
  volumes: KubeObject[],
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(annotations ? { annotations } : {}),
      labels: { component: name, tier: 'control-plane' },
      name,
      namespace: 'kube-system',
    },
    spec: {
      containers: [{ ...container, imagePullPolicy: 'IfNotPresent', name }],
      hostNetwork: true,
      priority: 2000001000,
      priorityClassName: 'system-node-critical',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      volumes,
    },
    status: {},
  };
}

const caVolumes = (certDir: string) => [
  hostPathVolume('ca-certs', '/etc/ssl/certs', 'DirectoryOrCreate'),
  hostPathVolume('k8s-certs', certDir, 'DirectoryOrCreate'),
];

export function etcdManifest(s: ControlPlaneSpec): KubeObject {
  const ip = s.advertiseAddress;
  const pki = `${s.certificatesDir}/etcd`;
  const self = `${s.nodeName}=https://${ip}:2380`;
  const defaults: Record<string, string> = {
    'advertise-client-urls': `https://${ip}:2379`,
    'cert-file': `${pki}/server.crt`,
    'client-cert-auth': 'true',
    'data-dir': s.etcdDataDir,
    'experimental-initial-corrupt-check': 'true',
    'experimental-watch-progress-notify-interval': '5s',
    'initial-advertise-peer-urls': `https://${ip}:2380`,
    'initial-cluster': (s.initialCluster ?? [self]).join(','),
    'key-file': `${pki}/server.key`,
    'listen-client-urls': `https://127.0.0.1:2379,https://${ip}:2379`,
    'listen-metrics-urls': 'http://127.0.0.1:2381',
    'listen-peer-urls': `https://${ip}:2380`,
    name: s.nodeName,
    'peer-cert-file': `${pki}/peer.crt`,
    'peer-client-cert-auth': 'true',
    'peer-key-file': `${pki}/peer.key`,
    'peer-trusted-ca-file': `${pki}/ca.crt`,
    'snapshot-count': '10000',
    'trusted-ca-file': `${pki}/ca.crt`,
  };
  if (s.initialCluster) defaults['initial-cluster-state'] = 'existing';
  return pod(
    'etcd',
    { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': `https://${ip}:2379` },
    {
      command: command('etcd', defaults, s.extraArgs.etcd),
      image: s.images.etcd,
      livenessProbe: probe('127.0.0.1', '/health?exclude=NOSPACE&serializable=true', 2381, 'HTTP', 8),
      resources: { requests: { cpu: '100m', memory: '100Mi' } },
      startupProbe: probe('127.0.0.1', '/health?serializable=false', 2381, 'HTTP', 24),
      volumeMounts: [mount('etcd-data', s.etcdDataDir, false), mount('etcd-certs', pki, false)],
    },
    [
      hostPathVolume('etcd-certs', pki, 'DirectoryOrCreate'),
      hostPathVolume('etcd-data', s.etcdDataDir, 'DirectoryOrCreate'),
    ],
  );
}

export function apiserverManifest(s: ControlPlaneSpec): KubeObject {
  const pki = s.certificatesDir;
  const defaults: Record<string, string> = {
    'advertise-address': s.advertiseAddress,
    'allow-privileged': 'true',
    'authorization-mode': 'Node,RBAC',
    'client-ca-file': `${pki}/ca.crt`,
    'enable-admission-plugins': 'NodeRestriction',
    'enable-bootstrap-token-auth': 'true',
    'etcd-cafile': `${pki}/etcd/ca.crt`,
    'etcd-certfile': `${pki}/apiserver-etcd-client.crt`,
    'etcd-keyfile': `${pki}/apiserver-etcd-client.key`,
    'etcd-servers': 'https://127.0.0.1:2379',
    'kubelet-client-certificate': `${pki}/apiserver-kubelet-client.crt`,
    'kubelet-client-key': `${pki}/apiserver-kubelet-client.key`,
    'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
    'proxy-client-cert-file': `${pki}/front-proxy-client.crt`,
    'proxy-client-key-file': `${pki}/front-proxy-client.key`,
    'requestheader-allowed-names': 'front-proxy-client',
    'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
    'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
    'requestheader-group-headers': 'X-Remote-Group',
    'requestheader-username-headers': 'X-Remote-User',
    'secure-port': String(s.bindPort),
    'service-account-issuer': `https://kubernetes.default.svc.${s.dnsDomain}`,
    'service-account-key-file': `${pki}/sa.pub`,
    'service-account-signing-key-file': `${pki}/sa.key`,
    'service-cluster-ip-range': s.serviceSubnet,
    'tls-cert-file': `${pki}/apiserver.crt`,
    'tls-private-key-file': `${pki}/apiserver.key`,
  };
  const probeHost = s.advertiseAddress;
  return pod(
    'kube-apiserver',
    {
      'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${s.advertiseAddress}:${s.bindPort}`,
    },
    {
      command: command('kube-apiserver', defaults, s.extraArgs.apiserver),
      image: s.images.apiserver,
      livenessProbe: probe(probeHost, '/livez', s.bindPort, 'HTTPS', 8),
      readinessProbe: {
        ...probe(probeHost, '/readyz', s.bindPort, 'HTTPS', 3),
        initialDelaySeconds: undefined,
        periodSeconds: 1,
      },
      resources: { requests: { cpu: '250m' } },
      startupProbe: probe(probeHost, '/livez', s.bindPort, 'HTTPS', 24),
      volumeMounts: [mount('ca-certs', '/etc/ssl/certs'), mount('k8s-certs', pki)],
    },
    caVolumes(pki),
  );
}

export function controllerManagerManifest(s: ControlPlaneSpec): KubeObject {
  const pki = s.certificatesDir;
  const conf = '/etc/kubernetes/controller-manager.conf';
  const defaults: Record<string, string> = {
    'authentication-kubeconfig': conf,
    'authorization-kubeconfig': conf,
    'bind-address': '127.0.0.1',
    'client-ca-file': `${pki}/ca.crt`,
    'cluster-name': s.clusterName,
    'cluster-signing-cert-file': `${pki}/ca.crt`,
    'cluster-signing-key-file': `${pki}/ca.key`,
    controllers: '*,bootstrapsigner,tokencleaner',
    kubeconfig: conf,
    'leader-elect': 'true',
    'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
    'root-ca-file': `${pki}/ca.crt`,
    'service-account-private-key-file': `${pki}/sa.key`,
    'service-cluster-ip-range': s.serviceSubnet,
    'use-service-account-credentials': 'true',
  };
  if (s.podSubnet) {
    defaults['allocate-node-cidrs'] = 'true';
    defaults['cluster-cidr'] = s.podSubnet;
  }
  return pod(
    'kube-controller-manager',
    undefined,
    {
      command: command('kube-controller-manager', defaults, s.extraArgs.controllerManager),
      image: s.images.controllerManager,
      livenessProbe: probe('127.0.0.1', '/healthz', 10257, 'HTTPS', 8),
      resources: { requests: { cpu: '200m' } },
      startupProbe: probe('127.0.0.1', '/healthz', 10257, 'HTTPS', 24),
      volumeMounts: [mount('ca-certs', '/etc/ssl/certs'), mount('k8s-certs', pki), mount('kubeconfig', conf)],
    },
    [...caVolumes(pki), hostPathVolume('kubeconfig', conf, 'FileOrCreate')],
  );
}

export function schedulerManifest(s: ControlPlaneSpec): KubeObject {
  const conf = '/etc/kubernetes/scheduler.conf';
  const defaults = {
    'authentication-kubeconfig': conf,
    'authorization-kubeconfig': conf,
    'bind-address': '127.0.0.1',
    kubeconfig: conf,
    'leader-elect': 'true',
  };
  return pod(
    'kube-scheduler',
    undefined,
    {
      command: command('kube-scheduler', defaults, s.extraArgs.scheduler),
      image: s.images.scheduler,
      livenessProbe: probe('127.0.0.1', '/healthz', 10259, 'HTTPS', 8),
      resources: { requests: { cpu: '100m' } },
      startupProbe: probe('127.0.0.1', '/healthz', 10259, 'HTTPS', 24),
      volumeMounts: [mount('kubeconfig', conf)],
    },
    [hostPathVolume('kubeconfig', conf, 'FileOrCreate')],
  );
}

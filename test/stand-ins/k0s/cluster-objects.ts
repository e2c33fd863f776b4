// What a k0s controller keeps in the cluster besides what the API server makes itself: the system-rbac
// bindings that let bootstrap tokens join workers (CSR creation and auto-approval), the worker config
// ConfigMaps workers read with their token (API server addresses, node-local load balancing, kubelet
// defaults), and one Lease per running controller in kube-node-lease from which the `kubernetes`
// Endpoints list every controller's API address (kube-apiserver's lease endpoint reconciler does this in
// k0s; the stand-in's API server does not, so the controller process does).
import { hostname } from 'node:os';
import { klog } from '../k3s/standin-log.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { sameJson } from '../kube-api/kube-object.js';
import type { KubeClient } from '../kubeadm/kubeconfig.js';
import type { ClusterSettings } from './cluster-config.js';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const CM = '/api/v1/namespaces/kube-system/configmaps';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const ENDPOINTS = '/api/v1/namespaces/default/endpoints';
export const ADDRESS_ANNOTATION = 'k0s.k0sproject.io/api-address';
const LEASE_SECONDS = 30;

const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });

function clusterRoleBinding(name: string, role: string, groupName: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [group(groupName)],
  };
}

export const workerConfigName = (profile: string, minor: number) => `worker-config-${profile}-1.${minor}`;

function workerConfigMap(
  name: string,
  c: ClusterSettings,
  addresses: string[],
  kubelet: KubeObject,
): KubeObject {
  const dnsParts = c.serviceCIDR.split('/')[0].split('.').map(Number);
  dnsParts[3] += 10;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: 'kube-system',
      labels: { 'app.kubernetes.io/component': 'worker-config', 'app.kubernetes.io/managed-by': 'k0s' },
    },
    data: {
      apiServerAddresses: JSON.stringify(addresses),
      kubeletConfiguration: JSON.stringify({
        clusterDNS: [dnsParts.join('.')],
        clusterDomain: c.clusterDomain,
        ...kubelet,
      }),
      nodeLocalLoadBalancing: JSON.stringify({
        enabled: c.nllb.enabled,
        type: 'EnvoyProxy',
        envoyProxy: {
          apiServerBindPort: c.nllb.apiServerBindPort,
          konnectivityServerBindPort: c.nllb.konnectivityServerBindPort,
        },
      }),
      pauseImage: JSON.stringify(c.pauseImage),
    },
  };
}

/** The system-rbac bindings and the worker-config Role, created or brought up to date. */
export async function ensureSystemRbac(admin: KubeClient, c: ClusterSettings, minor: number): Promise<void> {
  for (const b of [
    clusterRoleBinding('kubelet-bootstrap', 'system:node-bootstrapper', 'system:bootstrappers'),
    clusterRoleBinding(
      'node-autoapprove-bootstrap',
      'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
      'system:bootstrappers',
    ),
    clusterRoleBinding(
      'node-autoapprove-certificate-rotation',
      'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
      'system:nodes',
    ),
  ])
    await admin.apply(`${RBAC}/clusterrolebindings`, b);
  const names = profiles(c).map(([p]) => workerConfigName(p, minor));
  await admin.apply(`${RBAC}/namespaces/kube-system/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'system:bootstrappers:worker-config', namespace: 'kube-system' },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: names, verbs: ['get', 'list', 'watch'] },
    ],
  });
  await admin.apply(`${RBAC}/namespaces/kube-system/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'system:bootstrappers:worker-config', namespace: 'kube-system' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'system:bootstrappers:worker-config',
    },
    subjects: [group('system:bootstrappers'), group('system:nodes')],
  });
}

const profiles = (c: ClusterSettings): [string, KubeObject][] => [
  ['default', {}],
  ...((c.doc.spec?.workerProfiles ?? []) as KubeObject[]).map((p): [string, KubeObject] => [
    String(p.name),
    p.values ?? {},
  ]),
];

/**
 * The worker config of every profile, written where it differs. `addresses` undefined keeps the API
 * addresses already listed and adds this controller's (a controller starting; the lease holder then
 * keeps the list exact).
 */
export async function ensureWorkerConfigs(
  admin: KubeClient,
  c: ClusterSettings,
  minor: number,
  addresses: string[] | { add: string },
): Promise<void> {
  for (const [profile, kubelet] of profiles(c)) {
    const name = workerConfigName(profile, minor);
    const live = await admin.get(`${CM}/${name}`);
    const list = Array.isArray(addresses)
      ? addresses
      : [...new Set([...JSON.parse(live?.data?.apiServerAddresses ?? '[]'), addresses.add])].sort();
    const cm = workerConfigMap(name, c, list, kubelet);
    if (!live || !sameJson(live.data, cm.data)) await admin.apply(CM, cm);
  }
}

/** A MicroTime, as Leases hold it. */
const now = () => new Date().toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

/**
 * This controller's Lease, renewed every few seconds, and the `kubernetes` Endpoints kept to the addresses
 * of the controllers whose Leases are fresh (written by the one of them with the lowest name).
 */
export class ControllerLeases {
  private timer: NodeJS.Timeout | undefined;
  private readonly name = `k0s-ctrl-${hostname().toLowerCase()}`;
  private busy = false;

  constructor(
    private readonly admin: KubeClient,
    private readonly address: string,
    private readonly port: number,
    private readonly onAddresses: (addrs: string[]) => Promise<void>,
  ) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), 5_000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.admin.delete(`${LEASES}/${this.name}`).catch(() => false);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.admin.apply(LEASES, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: this.name,
          namespace: 'kube-node-lease',
          annotations: { [ADDRESS_ANNOTATION]: this.address },
        },
        spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: now() },
      });
      const leases: KubeObject[] = ((await this.admin.get(LEASES))?.items ?? []).filter(
        (l: KubeObject) =>
          String(l.metadata?.name).startsWith('k0s-ctrl-') &&
          Date.now() - Date.parse(l.spec?.renewTime ?? 0) < LEASE_SECONDS * 1000,
      );
      leases.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
      const addrs = [
        ...new Set(
          leases.map((l) => String(l.metadata?.annotations?.[ADDRESS_ANNOTATION] ?? '')).filter(Boolean),
        ),
      ].sort();
      if (leases[0]?.metadata?.name !== this.name) return;
      const want = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        },
        subsets: [
          {
            addresses: addrs.map((ip) => ({ ip })),
            ports: [{ name: 'https', port: this.port, protocol: 'TCP' }],
          },
        ],
      };
      const live = await this.admin.get(`${ENDPOINTS}/kubernetes`);
      if (!live || !sameJson(live.subsets, want.subsets)) {
        await this.admin.apply(ENDPOINTS, want);
        klog.info(`kubernetes endpoints: ${addrs.join(', ')}`);
      }
      await this.onAddresses(addrs.map((a) => `${a}:${this.port}`));
    } catch (e) {
      klog.warn(`controller lease: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}

/** The API server addresses the `kubernetes` Endpoints list (what the NLLB forwards to). */
export async function apiEndpoints(client: KubeClient): Promise<{ host: string; port: number }[]> {
  const ep = await client.get(`${ENDPOINTS}/kubernetes`);
  return ((ep?.subsets ?? []) as KubeObject[]).flatMap((s) =>
    ((s.addresses ?? []) as KubeObject[]).map((a) => ({
      host: String(a.ip),
      port: Number(((s.ports ?? []) as KubeObject[])[0]?.port ?? 6443),
    })),
  );
}

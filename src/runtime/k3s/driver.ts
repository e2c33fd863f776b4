// The k3s distribution: servers with embedded etcd (cluster-init on the first master), agents joining
// through the node-local balancer. Every method returns files and shell for the phases to run; the server
// and agent tokens are made by prepare and kept (encrypted) by berth between applies.

import { randomBytes } from 'node:crypto';
import type { FileSpec, HostAction } from '../../host/action.js';
import { installBalancer, resetBalancer } from '../../host/balancer.js';
import { rememberIfAbsent as rememberPath, removeRemembered } from '../../host/created-paths.js';
import { removeHostsEntries, setHostsEntry } from '../../host/etc-hosts.js';
import { removeCniLinks, removeKubeIptables, unmountUnder } from '../../host/kube-leftovers.js';
import { installService, removeService, type ServiceSpec } from '../../host/services.js';
import { waitForPortCommand } from '../../host/wait-port.js';
import { mirrorSecrets } from '../../registry/mirrors.js';
import { InputError } from '../../util/errors.js';
import { shellQuote } from '../../util/shell.js';
import { compareMinor } from '../kube-version.js';
import { masterKubeconfig } from '../kubeconfig-server.js';
import { forgetNodeStep, removeNodeStep } from '../remove-node.js';
import type { ClusterHost, HostStep, Runtime, RuntimeContext, RuntimeDefaults } from '../types.js';
import { k3sConfigYaml } from './config.js';
import { k3sRegistriesYaml } from './registries.js';

const bin = '/usr/local/bin/k3s';
const configDir = '/etc/rancher/k3s';
const dataDir = '/var/lib/rancher/k3s';
/** Paths berth created (absent before it ran); reset removes exactly these. */
const createdRecord = '/etc/berth/k3s-created';
const readyTimeoutSeconds = 300;

/** What berth keeps for a k3s cluster between applies. */
export interface K3sState {
  /** The server token: servers join with it, and it encrypts the datastore's bootstrap data. */
  token: string;
  /** Agents join with this one, kept apart from the server token. */
  agentToken?: string;
}

type K3sContext = RuntimeContext<K3sState>;

const defaults: RuntimeDefaults = {
  // where rootfs images keep their k3s config defaults (sealos layout)
  configFiles: ['etc/k3s.yml', 'etc/k3s.yaml', 'etc/config.yaml'],
  configKinds: ['K3sConfig'],
  resetPaths: [
    '/etc/rancher',
    '/var/lib/rancher',
    '/var/lib/kubelet',
    '/run/k3s',
    '/run/flannel',
    '/var/lib/cni',
  ],
  certificateDirs: ['/var/lib/rancher/k3s/server/tls', '/var/lib/rancher/k3s/server/tls/etcd'],
  certificateKubeconfigs: ['/etc/rancher/k3s/k3s.yaml'],
};

const serverService: ServiceSpec = {
  name: 'k3s',
  description: 'k3s server (berth)',
  command: `${bin} server`,
  systemd: { type: 'notify', killMode: 'process', delegate: true },
};
const agentService: ServiceSpec = {
  name: 'k3s-agent',
  description: 'k3s agent (berth)',
  command: `${bin} agent`,
  systemd: { type: 'notify', killMode: 'process', delegate: true },
};

function masterIps(ctx: K3sContext): string[] {
  return ctx.masters.map((m) => m.ip);
}

function master0(ctx: K3sContext): ClusterHost {
  const m = ctx.masters[0];
  if (!m) throw new Error('a k3s cluster needs at least one master');
  return m;
}

function apiUrl(ctx: K3sContext): string {
  return `https://${ctx.apiServerDomain}:${ctx.apiPort}`;
}

function secretsOf(ctx: K3sContext): string[] {
  return [
    ctx.state.token,
    ...(ctx.state.agentToken ? [ctx.state.agentToken] : []),
    ...mirrorSecrets(ctx.registry),
  ];
}

/** Remembers `path` in the record when it does not exist yet, so reset removes only what berth made. */
const rememberIfAbsent = (path: string): string => rememberPath(createdRecord, path);

/** The k3s binary from the image, plus kubectl/crictl/ctr links where no such program exists. */
function installBinaryCommands(ctx: K3sContext): string[] {
  const src = shellQuote(`${ctx.rootfsDir}/bin/k3s`);
  const links = ['kubectl', 'crictl', 'ctr'].map(
    (tool) =>
      `if ! command -v ${tool} >/dev/null 2>&1 && [ ! -e /usr/local/bin/${tool} ]; then ${rememberIfAbsent(`/usr/local/bin/${tool}`)}; ln -s k3s /usr/local/bin/${tool}; fi`,
  );
  return [
    `[ -f ${src} ] || { echo "the cluster image has no bin/k3s (looked for ${src})" >&2; exit 1; }`,
    ...['/etc/cni', '/opt/cni', '/var/lib/cni', bin].map(rememberIfAbsent),
    `if ! cmp -s ${src} ${bin}; then install -m 0755 ${src} ${bin}.new && mv -f ${bin}.new ${bin}; fi`,
    ...links,
  ];
}

function hostFiles(ctx: K3sContext, config: string): FileSpec[] {
  return [
    { path: `${configDir}/config.yaml`, content: config, mode: 0o600 },
    { path: `${configDir}/registries.yaml`, content: k3sRegistriesYaml(ctx.registry), mode: 0o600 },
  ];
}

function nodeName(host: ClusterHost): Record<string, unknown> {
  return host.hostname ? { 'node-name': host.hostname } : {};
}

/** The `spec.server` or `spec.agent` keys of each Clusterfile K3sConfig document. */
function clusterfileKeys(ctx: K3sContext, role: 'server' | 'agent'): Record<string, unknown>[] {
  return ctx.distributionConfig.map((d) => {
    const spec = d.object.spec as Record<string, Record<string, unknown> | undefined> | undefined;
    return spec?.[role] ?? {};
  });
}

function serverConfig(ctx: K3sContext, host: ClusterHost, first: boolean): string {
  return k3sConfigYaml({
    role: 'server',
    imageDefaultConfig: ctx.imageDefaultConfig,
    distributionConfig: clusterfileKeys(ctx, 'server'),
    required: {
      token: ctx.state.token,
      'agent-token': ctx.state.agentToken,
      'cluster-init': first ? true : undefined,
      server: first ? undefined : apiUrl(ctx),
      'node-ip': host.ip,
      ...nodeName(host),
      'https-listen-port': ctx.apiPort,
      'tls-san': [ctx.apiServerDomain, ctx.vip, ...masterIps(ctx)],
      'write-kubeconfig-mode': '0600',
    },
  });
}

function agentConfig(ctx: K3sContext, host: ClusterHost): string {
  return k3sConfigYaml({
    role: 'agent',
    imageDefaultConfig: ctx.imageDefaultConfig,
    distributionConfig: clusterfileKeys(ctx, 'agent'),
    required: {
      token: ctx.state.agentToken ?? ctx.state.token,
      server: apiUrl(ctx),
      'node-ip': host.ip,
      ...nodeName(host),
    },
  });
}

function waitForApi(ctx: K3sContext, host: ClusterHost): string {
  return waitForPortCommand(
    '127.0.0.1',
    ctx.apiPort,
    readyTimeoutSeconds,
    `${host.ip}: k3s did not serve port ${ctx.apiPort} within ${readyTimeoutSeconds} s; see journalctl -u k3s or /var/log/berth/k3s.log`,
  );
}

function merge(
  host: string,
  id: string,
  description: string,
  parts: HostAction[],
  secrets: string[],
): HostStep {
  return {
    host,
    id,
    description,
    files: parts.flatMap((p) => p.files ?? []),
    commands: parts.flatMap((p) => p.commands ?? []),
    secrets,
  };
}

function serverStep(ctx: K3sContext, host: ClusterHost, first: boolean): HostStep {
  const m0 = master0(ctx);
  const service = installService(serverService);
  return merge(
    host.ip,
    first ? 'init' : 'join',
    first ? `start the first k3s server on ${host.ip}` : `join k3s server ${host.ip} to ${m0.ip}`,
    [
      {
        description: 'names and binary',
        commands: [
          setHostsEntry(ctx.registry.hostIp, ctx.registry.domain),
          // a joining server reaches the cluster through master0, then serves the name itself
          setHostsEntry(m0.ip, ctx.apiServerDomain),
          ...installBinaryCommands(ctx),
        ],
        files: hostFiles(ctx, serverConfig(ctx, host, first)),
      },
      service,
      {
        description: 'wait for the API',
        commands: [
          waitForApi(ctx, host),
          `${waitForKubeconfig()}`,
          ...(first ? [] : [setHostsEntry(host.ip, ctx.apiServerDomain)]),
        ],
      },
    ],
    secretsOf(ctx),
  );
}

function waitForKubeconfig(): string {
  return `i=0; until [ -s ${configDir}/k3s.yaml ]; do i=$((i + 1)); if [ $i -ge ${readyTimeoutSeconds} ]; then echo "k3s wrote no ${configDir}/k3s.yaml within ${readyTimeoutSeconds} s" >&2; exit 1; fi; sleep 1; done`;
}

function agentStep(ctx: K3sContext, host: ClusterHost): HostStep {
  const lb = nodeBalancingSyncAction(ctx, host);
  return merge(
    host.ip,
    'join',
    `join k3s agent ${host.ip}`,
    [
      {
        description: 'names and binary',
        commands: [setHostsEntry(ctx.registry.hostIp, ctx.registry.domain), ...installBinaryCommands(ctx)],
        files: hostFiles(ctx, agentConfig(ctx, host)),
      },
      lb,
      installService(agentService),
    ],
    secretsOf(ctx),
  );
}

function nodeBalancingSyncAction(ctx: K3sContext, node: ClusterHost): HostAction {
  const lb = installBalancer({ vip: ctx.vip, port: ctx.apiPort, nodeIp: node.ip, masters: masterIps(ctx) });
  return {
    description: `point ${node.ip}'s API balancer at ${masterIps(ctx).join(', ')}`,
    files: lb.files,
    commands: [...(lb.commands ?? []), setHostsEntry(ctx.vip, ctx.apiServerDomain)],
  };
}

/**
 * kubectl as berth runs it on a master: its discovery cache goes to the cluster's directory, which reset
 * removes, instead of root's ~/.kube/cache, which nothing would.
 */
function kubectl(ctx: K3sContext): string {
  const clusterDir = ctx.rootfsDir.slice(0, ctx.rootfsDir.lastIndexOf('/'));
  return `${bin} kubectl --cache-dir ${shellQuote(`${clusterDir}/kube-cache`)}`;
}

function resetAction(ctx: K3sContext): HostAction {
  const lb = resetBalancer(ctx.vip);
  return {
    description: 'remove k3s and everything it made',
    commands: [
      ...removeService(serverService.name),
      ...removeService(agentService.name),
      // containerd shims outlive the service (they run in their own sessions)
      `for d in /proc/[0-9]*; do case "$(readlink "$d/exe" 2>/dev/null)" in ${dataDir}/data/*/bin/containerd-shim*) kill -9 "\${d#/proc/}" 2>/dev/null || : ;; esac; done`,
      unmountUnder(['/run/k3s', '/var/lib/kubelet', dataDir, '/run/netns/cni-']),
      removeCniLinks(),
      ...removeKubeIptables(),
      ...(lb.commands ?? []),
      `rm -rf ${defaults.resetPaths.join(' ')}`,
      removeRemembered(createdRecord),
      removeHostsEntries(ctx.apiServerDomain),
      removeHostsEntries(ctx.registry.domain),
      'rmdir /etc/berth 2>/dev/null || :',
    ],
  };
}

const token = (): string => randomBytes(24).toString('hex');

export const k3sRuntime: Runtime<K3sState> = {
  name: 'k3s',
  defaults,
  async prepare(ctx, previous) {
    const v = ctx.kubeVersion;
    if (v && (v.major !== 1 || compareMinor(v, 1, 21) < 0)) {
      throw new InputError(
        `the cluster image's version ${v.text} is older than k3s v1.21, the oldest berth installs; use a newer image`,
      );
    }
    return { token: previous?.token ?? token(), agentToken: previous?.agentToken ?? token() };
  },
  init(ctx) {
    return [serverStep(ctx, master0(ctx), true)];
  },
  joinMasters(ctx, hosts) {
    return hosts.map((h) => serverStep(ctx, h, false));
  },
  joinNodes(ctx, hosts) {
    return hosts.map((h) => agentStep(ctx, h));
  },
  deleteMasters(ctx, hosts) {
    const leaving = new Set(hosts.map((h) => h.ip));
    const stays = ctx.masters.find((m) => !leaving.has(m.ip));
    return hosts.flatMap((h) => [
      ...(stays ? [removeNodeStep(kubectl(ctx), stays, h, h.hostname)] : []),
      { host: h.ip, id: 'reset', always: true, ...resetAction(ctx) },
      ...(stays ? [forgetNodeStep(kubectl(ctx), stays, h, h.hostname)] : []),
    ]);
  },
  deleteNodes(ctx, hosts) {
    const via = master0(ctx);
    return hosts.flatMap((h) => [
      removeNodeStep(kubectl(ctx), via, h, h.hostname),
      { host: h.ip, id: 'reset', always: true, ...resetAction(ctx) },
      forgetNodeStep(kubectl(ctx), via, h, h.hostname),
    ]);
  },
  reset(ctx) {
    return resetAction(ctx);
  },
  kubeconfig: (ctx) => masterKubeconfig(master0(ctx), ctx.apiPort, `${configDir}/k3s.yaml`),
  nodeBalancingSync(ctx, node) {
    return nodeBalancingSyncAction(ctx, node);
  },
};

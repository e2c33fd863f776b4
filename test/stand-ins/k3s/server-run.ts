// `k3s server`: bootstraps or joins a cluster, writes k3s's files, serves API + supervisor on one TLS port,
// runs the embedded agent's node, and replicates state with the other servers.
import { generateKeyPairSync } from 'node:crypto';
import { chownSync, existsSync, lstatSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { sendStatus } from '../kube-api/api-response.js';
import type { ApiUser } from '../kube-api/api-server.js';
import { WorkloadController } from '../kube-api/controllers/workload-controller.js';
import {
  ensureDir,
  kubeconfigYaml,
  nodeId,
  nodePassword,
  writeAgentFiles,
  writeFileMode,
} from './agent-files.js';
import { ClusterState } from './cluster-state.js';
import { caHashOf, formatClusterToken, parseClusterToken, randomSecret } from './cluster-token.js';
import { runtimeEndpoint, startAgentRuntime } from './containerd-run.js';
import { type FlagValues, flag, list, num, str } from './flag-set.js';
import { defaultNodeName, detectNodeIp } from './host-address.js';
import { k3sKubeApi } from './kube-api.js';
import { buildNodeObject, heartbeatStatus } from './node-object.js';
import { type CertPair, newCa, signLeaf } from './openssl-pki.js';
import { PeerSync, type ServerPeer } from './peer-sync.js';
import { PodKubelet } from './pod-kubelet.js';
import { loadRegistries } from './registries-config.js';
import { fetchServerBootstrap, joinCluster } from './server-join.js';
import { fatal, hideInLogs, klog } from './standin-log.js';
import {
  defaultDataDir,
  defaultKubeconfig,
  defaultRegistriesFile,
  K3S_COMMIT,
  K3S_VERSION,
} from './standin-paths.js';
import { type BootstrapData, isSupervisorPath, passwordHash, Supervisor } from './supervisor.js';
import { notifySystemd } from './systemd-notify.js';

const HEARTBEAT_MS = 10_000;
const SYNC_MS = 5_000;

function readSecretFlag(values: FlagValues, key: string, fileKey: string): string {
  const direct = str(values, key);
  if (direct) return direct;
  const file = str(values, fileKey);
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    return fatal(`failed to read ${fileKey} ${file}: ${(e as Error).message}`);
  }
}

function criticalValues(values: FlagValues): Record<string, string> {
  const joined = (k: string, d: string) => (list(values, k).length ? list(values, k).join(',') : d);
  return {
    ClusterIPRange: joined('cluster-cidr', '10.42.0.0/16'),
    ServiceIPRange: joined('service-cidr', '10.43.0.0/16'),
    ClusterDNS: joined('cluster-dns', '10.43.0.10'),
    ClusterDomain: str(values, 'cluster-domain', 'cluster.local'),
    EgressSelectorMode: str(values, 'egress-selector-mode', 'agent'),
    FlannelBackend: str(values, 'flannel-backend', 'vxlan'),
    DisableNPC: String(flag(values, 'disable-network-policy')),
    DisableCCM: String(flag(values, 'disable-cloud-controller')),
    DisableHelmController: String(flag(values, 'disable-helm-controller')),
    DisableServiceLB: String(list(values, 'disable').includes('servicelb')),
    EncryptSecrets: String(flag(values, 'secrets-encryption')),
    EmbeddedRegistry: String(flag(values, 'embedded-registry')),
  };
}

function readPair(dir: string, base: string): CertPair {
  return {
    cert: readFileSync(join(dir, `${base}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${base}.key`), 'utf8'),
  };
}

function writePair(dir: string, base: string, pair: CertPair): void {
  writeFileMode(join(dir, `${base}.crt`), pair.cert, 0o644);
  writeFileMode(join(dir, `${base}.key`), pair.key, 0o600);
}

async function newBootstrap(values: FlagValues, token: string, agentToken: string): Promise<BootstrapData> {
  const now = Math.floor(Date.now() / 1000);
  const serviceKey = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return {
    serverCa: await newCa(`k3s-server-ca@${now}`),
    clientCa: await newCa(`k3s-client-ca@${now}`),
    requestHeaderCa: await newCa(`k3s-request-header-ca@${now}`),
    serviceKey,
    serverPassword: token ? parseClusterToken(token).password : randomSecret(),
    agentPassword: agentToken ? parseClusterToken(agentToken).password : undefined,
    critical: criticalValues(values),
  };
}

function loadBootstrap(dataDir: string, values: FlagValues): BootstrapData | undefined {
  const tls = join(dataDir, 'server', 'tls');
  const tokenFile = join(dataDir, 'server', 'token');
  if (!existsSync(join(tls, 'server-ca.key')) || !existsSync(tokenFile)) return undefined;
  const agentFile = join(dataDir, 'server', 'agent-token');
  const agentIsOwn = existsSync(agentFile) && !lstatSync(agentFile).isSymbolicLink();
  return {
    serverCa: readPair(tls, 'server-ca'),
    clientCa: readPair(tls, 'client-ca'),
    requestHeaderCa: readPair(tls, 'request-header-ca'),
    serviceKey: readFileSync(join(tls, 'service.key'), 'utf8'),
    serverPassword: parseClusterToken(readFileSync(tokenFile, 'utf8').trim()).password,
    agentPassword: agentIsOwn
      ? parseClusterToken(readFileSync(agentFile, 'utf8').trim()).password
      : undefined,
    critical: criticalValues(values),
  };
}

function writeBootstrapFiles(dataDir: string, b: BootstrapData): void {
  const server = join(dataDir, 'server');
  const tls = join(server, 'tls');
  ensureDir(tls, 0o700);
  ensureDir(join(server, 'cred'), 0o700);
  writePair(tls, 'server-ca', b.serverCa);
  writePair(tls, 'client-ca', b.clientCa);
  writePair(tls, 'request-header-ca', b.requestHeaderCa);
  writeFileMode(join(tls, 'service.key'), b.serviceKey, 0o600);
  const hash = caHashOf(b.serverCa.cert);
  writeFileMode(join(server, 'token'), `${formatClusterToken(hash, 'server', b.serverPassword)}\n`, 0o600);
  const link = (name: string) => {
    rmSync(join(server, name), { force: true });
    symlinkSync(join(server, 'token'), join(server, name));
  };
  link('node-token');
  if (b.agentPassword) {
    rmSync(join(server, 'agent-token'), { force: true });
    writeFileMode(
      join(server, 'agent-token'),
      `${formatClusterToken(hash, 'node', b.agentPassword)}\n`,
      0o600,
    );
  } else link('agent-token');
  const passwd = [
    `${b.serverPassword},server,server,k3s:server`,
    `${b.agentPassword ?? b.serverPassword},node,node,k3s:agent`,
  ];
  writeFileMode(join(server, 'cred', 'passwd'), `${passwd.join('\n')}\n`, 0o600);
}

function kubeconfigMode(values: FlagValues): number {
  const text = str(values, 'write-kubeconfig-mode');
  if (!text) return 0o600;
  if (!/^[0-7]{1,4}$/.test(text)) {
    klog.error(
      `Failed to parse kubeconfig mode ${text}: strconv.ParseInt: parsing "${text}": invalid syntax`,
    );
    return 0o600;
  }
  return Number.parseInt(text, 8);
}

function groupId(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

function writeAdminKubeconfig(
  values: FlagValues,
  dataDir: string,
  url: string,
  b: BootstrapData,
  admin: CertPair,
): string {
  const text = kubeconfigYaml(url, b.serverCa.cert, admin);
  writeFileMode(join(dataDir, 'server', 'cred', 'admin.kubeconfig'), text, 0o600);
  const output = str(values, 'write-kubeconfig');
  const target = output || defaultKubeconfig();
  ensureDir(join(target, '..'));
  writeFileMode(target, text, kubeconfigMode(values));
  const group = str(values, 'write-kubeconfig-group');
  if (group) {
    const gid = groupId(group);
    if (gid === undefined) klog.error(`Failed to set kubeconfig group: group ${group} not found`);
    else chownSync(target, -1, gid);
  }
  const def = defaultKubeconfig();
  // k3s repoints the default path only when it is already a symlink.
  if (output && output !== def && existsSync(def) && lstatSync(def).isSymbolicLink()) {
    unlinkSync(def);
    symlinkSync(output, def);
  }
  return target;
}

function apiUser(req: IncomingMessage): ApiUser | undefined {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized) return undefined;
  const cert = sock.getPeerCertificate();
  const subject = cert?.subject as unknown as Record<string, string | string[]> | undefined;
  if (!subject?.CN) return undefined;
  const orgs = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
  return { name: String(subject.CN), groups: [...orgs, 'system:authenticated'] };
}

export async function runServer(values: FlagValues, rawArgs: string[]): Promise<void> {
  klog.info(`Starting k3s ${K3S_VERSION} (${K3S_COMMIT})`);
  const dataDir = str(values, 'data-dir') || defaultDataDir();
  const joinUrl = str(values, 'server');
  const token = readSecretFlag(values, 'token', 'token-file');
  const agentToken = readSecretFlag(values, 'agent-token', 'agent-token-file');
  hideInLogs(token);
  hideInLogs(agentToken);
  if (flag(values, 'cluster-reset') && joinUrl) {
    fatal(
      'cannot perform cluster-reset while server URL is set - remove server from configuration before resetting',
    );
  }
  if (joinUrl && !joinUrl.startsWith('https://'))
    fatal(`only https:// URLs are supported, invalid scheme: ${joinUrl}`);
  if (joinUrl && !token) fatal('token is required to join a cluster');
  for (const t of list(values, 'node-taint')) {
    if (!/^[^=:]+(=[^:]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/.test(t))
      fatal(`invalid taint spec: ${t}`);
  }
  const registries = loadRegistriesOrDie(values);
  ensureDir(dataDir, 0o700);
  let nodeName = str(values, 'node-name') || defaultNodeName();
  if (flag(values, 'with-node-id')) nodeName = `${nodeName}-${nodeId()}`;
  const nodeIps = list(values, 'node-ip').length ? list(values, 'node-ip') : [detectNodeIp()];
  const bind = str(values, 'bind-address', '0.0.0.0') || '0.0.0.0';
  const port = num(values, 'https-listen-port', 6443);
  const advertiseIp = str(values, 'advertise-address') || nodeIps[0];
  const advertisePort = num(values, 'advertise-port', 0) || port;
  const selfPeer: ServerPeer = {
    name: nodeName,
    url: `https://${isIP(advertiseIp) === 6 ? `[${advertiseIp}]` : advertiseIp}:${advertisePort}`,
    address: `${advertiseIp}:${advertisePort}`,
  };

  let bootstrap = loadBootstrap(dataDir, values);
  const etcdDir = join(dataDir, 'server', 'db', 'etcd');
  let etcd = flag(values, 'cluster-init') || Boolean(joinUrl) || existsSync(etcdDir);
  if (bootstrap && token && parseClusterToken(token).password !== bootstrap.serverPassword) {
    fatal(
      'starting kubernetes: preparing server: bootstrap data already found and encrypted with different token',
    );
  }
  let joinFrom: string | undefined;
  if (!bootstrap && joinUrl) {
    bootstrap = await fetchServerBootstrap(joinUrl, token);
    const mine = criticalValues(values);
    for (const [k, v] of Object.entries(mine)) {
      if (bootstrap.critical[k] !== undefined && bootstrap.critical[k] !== v) {
        fatal(
          `starting kubernetes: preparing server: failed to validate server configuration: critical configuration value mismatch between servers: ${k}`,
        );
      }
    }
    if (
      agentToken &&
      parseClusterToken(agentToken).password !== (bootstrap.agentPassword ?? bootstrap.serverPassword)
    ) {
      fatal(
        'starting kubernetes: preparing server: failed to validate server configuration: critical configuration value mismatch between servers: AgentToken',
      );
    }
    joinFrom = joinUrl;
    etcd = true;
  }
  if (!bootstrap) bootstrap = await newBootstrap(values, token, agentToken);
  hideInLogs(bootstrap.serverPassword);
  hideInLogs(bootstrap.agentPassword);
  writeBootstrapFiles(dataDir, bootstrap);
  if (etcd) ensureDir(etcdDir, 0o700);
  for (const d of ['manifests', 'static/charts', 'etc']) ensureDir(join(dataDir, 'server', d));

  const tls = join(dataDir, 'server', 'tls');
  const sans = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${str(values, 'cluster-domain', 'cluster.local')}`,
    'localhost',
    nodeName,
    '127.0.0.1',
    '::1',
    '10.43.0.1',
    ...nodeIps,
    ...list(values, 'node-external-ip'),
    ...list(values, 'tls-san'),
    advertiseIp,
    ...(bind !== '0.0.0.0' && bind !== '::' ? [bind] : []),
  ];
  const serving = await signLeaf(bootstrap.serverCa, { cn: 'kube-apiserver', sans, usage: 'server' });
  writePair(tls, 'serving-kube-apiserver', serving);
  const admin = existsSync(join(tls, 'client-admin.crt'))
    ? readPair(tls, 'client-admin')
    : await signLeaf(bootstrap.clientCa, { cn: 'system:admin', org: 'system:masters', usage: 'client' });
  writePair(tls, 'client-admin', admin);
  const localHost = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
  const localUrl = `https://${isIP(localHost) === 6 ? `[${localHost}]` : localHost}:${port}`;
  const kubeconfigPath = writeAdminKubeconfig(values, dataDir, localUrl, bootstrap, admin);

  const state = new ClusterState(
    join(dataDir, 'server', 'db', etcd ? 'etcd/standin-state.json' : 'standin-state.json'),
    nodeName,
  );
  const clusterCidr = list(values, 'cluster-cidr')[0] ?? '10.42.0.0/16';
  const api = k3sKubeApi({
    state,
    advertiseAddress: selfPeer.address,
    clusterCidr,
    serviceCidr: bootstrap.critical.ServiceIPRange,
  });
  const supervisor = new Supervisor({
    state,
    bootstrap,
    etcd,
    agentConfig: {
      ClusterDNS: list(values, 'cluster-dns')[0] ?? '10.43.0.10',
      ClusterDomain: str(values, 'cluster-domain', 'cluster.local'),
      ServiceCIDR: bootstrap.critical.ServiceIPRange,
      ClusterCIDR: bootstrap.critical.ClusterIPRange,
      FlannelBackend: bootstrap.critical.FlannelBackend,
      EgressSelectorMode: bootstrap.critical.EgressSelectorMode,
    },
  });
  // k3s answers the API with 503 until the apiserver has made its built-in objects (kube-system, RBAC);
  // the supervisor paths a joining server needs are served before that
  let apiReady = false;
  const server = createServer(
    {
      key: serving.key,
      cert: serving.cert + bootstrap.serverCa.cert,
      ca: bootstrap.clientCa.cert,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const work = isSupervisorPath(path)
        ? supervisor.handle(req, res)
        : (() => {
            const user = apiUser(req);
            if (!user) return Promise.resolve(sendStatus(res, 401, 'Unauthorized', 'Unauthorized'));
            if (!apiReady)
              return Promise.resolve(sendStatus(res, 503, 'ServiceUnavailable', 'apiserver not ready'));
            return api.handle(req, res, user);
          })();
      work.catch((e: Error) => {
        klog.error(`Request ${req.method} ${path} failed: ${e.message}`);
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', e.message);
        else res.end();
      });
    },
  );
  await new Promise<void>((resolve) => {
    server.once('error', (e) =>
      fatal(`starting kubernetes: preparing server: listen tcp ${bind}:${port}: ${e.message}`),
    );
    server.listen(port, bind, () => resolve());
  });
  klog.info(
    `Running kube-apiserver --advertise-address=${advertiseIp} --secure-port=${port} --bind-address=${bind}`,
  );

  const peers = new PeerSync(state, nodeName, bootstrap.serverCa.cert, bootstrap.serverPassword);
  if (etcd) {
    if (joinFrom) state.merge(await joinCluster(joinFrom, bootstrap, selfPeer));
    else state.put(`server/${nodeName}`, () => selfPeer);
    await peers.pullAll();
    peers.start(SYNC_MS);
  } else {
    state.put(`server/${nodeName}`, () => selfPeer);
  }
  await api.ensureBuiltins();
  apiReady = true;
  // One controller-manager acts at a time: the server with the lowest name among those recorded.
  const controller = new WorkloadController(api, {
    isLeader: () => (state.values('server/') as ServerPeer[]).map((p) => p.name).sort()[0] === nodeName,
    // The kubelets of the nodes start pods, once their images are pulled.
    startPods: false,
    onError: (m) => klog.error(`controller: ${m}`),
  });
  controller.start();

  const serverToken = join(dataDir, 'server', 'token');
  klog.info(`Server node token is available at ${serverToken}`);
  klog.info(
    `To join server node to cluster: k3s server -s https://${advertiseIp}:${advertisePort} -t \${SERVER_NODE_TOKEN}`,
  );
  klog.info(`Agent node token is available at ${join(dataDir, 'server', 'agent-token')}`);
  klog.info(
    `To join agent node to cluster: k3s agent -s https://${advertiseIp}:${advertisePort} -t \${AGENT_NODE_TOKEN}`,
  );
  klog.info(`Wrote kubeconfig ${kubeconfigPath}`);
  klog.info(`Run: k3s kubectl`);

  let heartbeat: NodeJS.Timeout | undefined;
  let kubelet: PodKubelet | undefined;
  if (!flag(values, 'disable-agent')) {
    const pw = nodePassword();
    state.put(`pw/${nodeName}`, () => passwordHash(pw));
    const clientKubelet = await signLeaf(bootstrap.clientCa, {
      cn: `system:node:${nodeName}`,
      org: 'system:nodes',
      usage: 'client',
    });
    const servingKubelet = await signLeaf(bootstrap.serverCa, {
      cn: nodeName,
      sans: [nodeName, 'localhost', '127.0.0.1', ...nodeIps],
      usage: 'server',
    });
    writeAgentFiles(dataDir, {
      serverUrl: localUrl,
      serverCa: bootstrap.serverCa.cert,
      clientCa: bootstrap.clientCa.cert,
      clientKubelet,
      servingKubelet,
      runtimeEndpoint: runtimeEndpoint(values),
    });
    await startAgentRuntime(values, dataDir, registries);
    const nodeType = api.typeOf('', 'Node');
    const existing = api.get(nodeType, undefined, nodeName);
    const fresh = buildNodeObject({
      name: nodeName,
      internalIp: nodeIps[0],
      externalIps: list(values, 'node-external-ip'),
      labels: list(values, 'node-label'),
      taints: list(values, 'node-taint'),
      server: true,
      etcd,
      nodeArgs: redactedArgs(rawArgs),
    });
    if (existing) {
      const status = { ...fresh.status, conditions: heartbeatStatus(existing, new Date()).conditions };
      await api.update(nodeType, undefined, nodeName, { ...existing, status }, { status: true });
    } else await api.create(nodeType, undefined, fresh);
    klog.info(`Registered node ${nodeName}`);
    const podType = api.typeOf('', 'Pod');
    kubelet = new PodKubelet(runtimeEndpoint(values).replace(/^unix:\/\//, ''), {
      pods: async () => api.list(podType).filter((p) => p.spec?.nodeName === nodeName),
      node: async () => {
        const n = api.get(nodeType, undefined, nodeName);
        return n && api.view(nodeType, n);
      },
      writeStatus: async (pod, status) => {
        await api.update(
          podType,
          pod.metadata.namespace,
          pod.metadata.name,
          { ...pod, status },
          { status: true },
        );
      },
    });
    kubelet.start();
    heartbeat = setInterval(() => {
      const current = api.get(nodeType, undefined, nodeName);
      if (current) {
        const status = heartbeatStatus(current, new Date());
        api
          .update(nodeType, undefined, nodeName, { ...current, status }, { status: true })
          .catch((e: Error) => klog.error(`Error updating node status, will retry: ${e.message}`));
      } else
        klog.error(
          `Error updating node status, will retry: error getting node "${nodeName}": nodes "${nodeName}" not found`,
        );
    }, HEARTBEAT_MS);
  }
  klog.info('k3s is up and running');
  notifySystemd();

  const stop = (signal: string) => {
    klog.info(`Received ${signal}, shutting down`);
    if (heartbeat) clearInterval(heartbeat);
    kubelet?.stop();
    controller.stop();
    peers.stop();
    state.flush();
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function loadRegistriesOrDie(values: FlagValues) {
  try {
    return loadRegistries(str(values, 'private-registry') || defaultRegistriesFile());
  } catch (e) {
    return fatal(`failed to validate private registry configuration: ${(e as Error).message}`);
  }
}

/** k3s records its arguments on the node, with token values blanked. */
export function redactedArgs(args: string[]): string[] {
  const out: string[] = [];
  let blankNext = false;
  for (const a of args) {
    if (blankNext) {
      out.push('********');
      blankNext = false;
      continue;
    }
    const m = /^(--?(token|t|agent-token|etcd-s3-secret-key|vpn-auth))(=.*)?$/.exec(a);
    if (m?.[3]) out.push(`${m[1]}=********`);
    else {
      out.push(a);
      blankNext = Boolean(m);
    }
  }
  return out;
}

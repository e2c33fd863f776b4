// `k3s agent`: validates the token against the server's CA, fetches kubelet certificates (the server checks the
// node password), registers the node through the Kubernetes API and posts status every 10 s. A wrong token is
// logged and retried, as k3s keeps retrying until the server accepts it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../kube-api/kube-object.js';
import { ensureDir, nodeId, nodePassword, writeAgentFiles, writeFileMode } from './agent-files.js';
import { type ClusterToken, parseClusterToken } from './cluster-token.js';
import { runtimeEndpoint, startAgentRuntime } from './containerd-run.js';
import { type FlagValues, flag, list, str } from './flag-set.js';
import { defaultNodeName, detectNodeIp } from './host-address.js';
import { type CallOptions, type CallResult, ConnectError, callHttps, splitPem } from './https-client.js';
import { buildNodeObject, heartbeatStatus } from './node-object.js';
import { PodKubelet } from './pod-kubelet.js';
import { loadRegistries } from './registries-config.js';
import { fetchClusterCa } from './server-join.js';
import { redactedArgs } from './server-run.js';
import { fatal, hideInLogs, klog } from './standin-log.js';
import { defaultDataDir, defaultRegistriesFile, K3S_COMMIT, K3S_VERSION } from './standin-paths.js';
import { notifySystemd } from './systemd-notify.js';

const RETRY_MS = 5_000;
const HEARTBEAT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent's view of the servers: the configured URL first, then those learnt from /v1-k3s/apiservers. */
class ServerList {
  private urls: string[];
  private current = 0;

  constructor(
    private readonly configured: string,
    private readonly stateFile: string,
  ) {
    this.urls = [configured];
  }

  learn(addresses: string[]): void {
    const learnt = addresses.map((a) => `https://${a}`);
    this.urls = [this.configured, ...learnt.filter((u) => u !== this.configured)];
    if (this.current >= this.urls.length) this.current = 0;
    writeFileMode(
      this.stateFile,
      `${JSON.stringify({ ServerURL: this.configured, ServerAddresses: addresses }, null, 2)}\n`,
      0o600,
    );
  }

  /** Calls each server in turn from the last good one, moving on only when a server cannot be reached. */
  async call(path: string, opts: CallOptions): Promise<CallResult> {
    let lastError: Error | undefined;
    for (let i = 0; i < this.urls.length; i++) {
      const idx = (this.current + i) % this.urls.length;
      try {
        const r = await callHttps(`${this.urls[idx]}${path}`, opts);
        if (idx !== this.current) klog.info(`Switched to server ${this.urls[idx]}`);
        this.current = idx;
        return r;
      } catch (e) {
        if (!(e instanceof ConnectError)) throw e;
        lastError = e;
      }
    }
    throw lastError ?? new ConnectError('no server to connect to');
  }
}

interface Credentials {
  ca: string;
  clientCa: string;
  client: { cert: string; key: string };
  serving: { cert: string; key: string };
}

async function fetchCredentials(
  base: string,
  token: ClusterToken,
  name: string,
  password: string,
  ip: string,
): Promise<Credentials> {
  const ca = await fetchClusterCa(base, token.caHash);
  const auth = { ca, basicAuth: { user: token.username || 'node', password: token.password } };
  const headers = { 'K3s-Node-Name': name, 'K3s-Node-Password': password, 'K3s-Node-IP': ip };
  const get = async (file: string) => {
    const url = `${base}/v1-k3s/${file}`;
    const r = await callHttps(url, { ...auth, headers });
    if (r.status === 401) throw new Error(`${url}: 401 Unauthorized`);
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text.trim()}`);
    return r.text;
  };
  const client = splitPem(await get('client-kubelet.crt'));
  const serving = splitPem(await get('serving-kubelet.crt'));
  const clientCa = await get('client-ca.crt');
  return {
    ca,
    clientCa,
    client: { cert: client.certs, key: client.key },
    serving: { cert: serving.certs, key: serving.key },
  };
}

function readToken(values: FlagValues): string {
  const direct = str(values, 'token');
  if (direct) return direct;
  const file = str(values, 'token-file');
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    return fatal(`failed to read token file ${file}: ${(e as Error).message}`);
  }
}

export async function runAgent(values: FlagValues, rawArgs: string[]): Promise<void> {
  const serverUrl = str(values, 'server').replace(/\/$/, '');
  if (!serverUrl) fatal('--server is required');
  if (!serverUrl.startsWith('https://'))
    fatal(`only https:// URLs are supported, invalid scheme: ${serverUrl}`);
  const tokenText = readToken(values);
  if (!tokenText) fatal('--token is required');
  hideInLogs(tokenText);
  let token: ClusterToken;
  try {
    token = parseClusterToken(tokenText);
  } catch (e) {
    return fatal(`failed to parse token: ${(e as Error).message}`);
  }
  hideInLogs(token.password);
  klog.info(`Starting k3s agent ${K3S_VERSION} (${K3S_COMMIT})`);
  let registries: ReturnType<typeof loadRegistries>;
  try {
    registries = loadRegistries(str(values, 'private-registry') || defaultRegistriesFile());
  } catch (e) {
    return fatal(`failed to validate private registry configuration: ${(e as Error).message}`);
  }
  for (const t of list(values, 'node-taint')) {
    if (!/^[^=:]+(=[^:]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/.test(t))
      fatal(`invalid taint spec: ${t}`);
  }
  const dataDir = str(values, 'data-dir') || defaultDataDir();
  const agentDir = join(dataDir, 'agent');
  ensureDir(join(agentDir, 'etc'));
  let nodeName = str(values, 'node-name') || defaultNodeName();
  if (flag(values, 'with-node-id')) nodeName = `${nodeName}-${nodeId()}`;
  const nodeIps = list(values, 'node-ip').length ? list(values, 'node-ip') : [detectNodeIp()];
  const password = nodePassword();

  let creds: Credentials | undefined;
  while (!creds) {
    try {
      creds = await fetchCredentials(serverUrl, token, nodeName, password, nodeIps.join(','));
    } catch (e) {
      const msg = `Waiting to retrieve agent configuration; server is not ready: ${(e as Error).message}`;
      if (e instanceof ConnectError) klog.info(msg);
      else klog.error(msg);
      await sleep(RETRY_MS);
    }
  }
  writeAgentFiles(dataDir, {
    serverUrl,
    serverCa: creds.ca,
    clientCa: creds.clientCa,
    clientKubelet: creds.client,
    servingKubelet: creds.serving,
    runtimeEndpoint: runtimeEndpoint(values),
  });
  await startAgentRuntime(values, dataDir, registries);
  const servers = new ServerList(serverUrl, join(agentDir, 'etc', 'k3s-agent-load-balancer.json'));
  const supervisorAuth = {
    ca: creds.ca,
    basicAuth: { user: token.username || 'node', password: token.password },
  };
  const refreshServers = async () => {
    try {
      const r = await servers.call('/v1-k3s/apiservers', supervisorAuth);
      if (r.status === 200) servers.learn(JSON.parse(r.text) as string[]);
    } catch (e) {
      klog.debug(`Failed to refresh apiserver addresses: ${(e as Error).message}`);
    }
  };
  await refreshServers();

  const kube = { ca: creds.ca, clientCert: creds.client };
  const node = buildNodeObject({
    name: nodeName,
    internalIp: nodeIps[0],
    externalIps: list(values, 'node-external-ip'),
    labels: list(values, 'node-label'),
    taints: list(values, 'node-taint'),
    server: false,
    etcd: false,
    nodeArgs: redactedArgs(rawArgs),
  });
  let last: KubeObject | undefined;
  while (!last) {
    try {
      const r = await servers.call('/api/v1/nodes', { ...kube, method: 'POST', body: node });
      if (r.status === 201) last = JSON.parse(r.text) as KubeObject;
      else if (r.status === 409) {
        const got = await servers.call(`/api/v1/nodes/${nodeName}`, kube);
        const current = JSON.parse(got.text) as KubeObject;
        const p = await servers.call(`/api/v1/nodes/${nodeName}/status`, {
          ...kube,
          method: 'PATCH',
          contentType: 'application/merge-patch+json',
          body: { status: { ...node.status, conditions: heartbeatStatus(current, new Date()).conditions } },
        });
        if (p.status === 200) last = JSON.parse(p.text) as KubeObject;
        else throw new Error(`updating node ${nodeName}: ${p.status} ${p.text}`);
      } else throw new Error(`registering node ${nodeName}: ${r.status} ${r.text}`);
    } catch (e) {
      klog.error(`Unable to register node with API server: ${(e as Error).message}`);
      await sleep(RETRY_MS);
    }
  }
  klog.info(`Successfully registered node ${nodeName}`);
  notifySystemd();
  const kubelet = new PodKubelet(runtimeEndpoint(values).replace(/^unix:\/\//, ''), {
    pods: async () => {
      const r = await servers.call(`/api/v1/pods?fieldSelector=spec.nodeName%3D${nodeName}`, kube);
      if (r.status !== 200) throw new Error(`listing pods: ${r.status} ${r.text.trim()}`);
      return (JSON.parse(r.text) as KubeObject).items as KubeObject[];
    },
    node: async () => last,
    writeStatus: async (pod, status) => {
      const r = await servers.call(
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        {
          ...kube,
          method: 'PATCH',
          contentType: 'application/merge-patch+json',
          body: { status },
        },
      );
      if (r.status !== 200) throw new Error(`updating pod status: ${r.status} ${r.text.trim()}`);
    },
  });
  kubelet.start();

  let beats = 0;
  const beat = async () => {
    if (++beats % 3 === 0) await refreshServers();
    try {
      const r = await servers.call(`/api/v1/nodes/${nodeName}/status`, {
        ...kube,
        method: 'PATCH',
        contentType: 'application/merge-patch+json',
        body: { status: { conditions: heartbeatStatus(last!, new Date()).conditions } },
      });
      if (r.status === 200) last = JSON.parse(r.text) as KubeObject;
      else if (r.status === 404)
        klog.error(
          `Error updating node status, will retry: error getting node "${nodeName}": nodes "${nodeName}" not found`,
        );
      else klog.error(`Error updating node status, will retry: ${r.status} ${r.text.trim()}`);
    } catch (e) {
      klog.error(`Error updating node status, will retry: ${(e as Error).message}`);
    }
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  const stop = (signal: string) => {
    klog.info(`Received ${signal}, shutting down`);
    clearInterval(timer);
    kubelet.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// A server joining an existing cluster: pin the cluster CA by the token's hash, fetch the bootstrap data
// (CAs, tokens, critical settings) with the server token, then add itself to the member list.
import type { StateRecord } from './cluster-state.js';
import { caHashOf, parseClusterToken } from './cluster-token.js';
import { ConnectError, callHttps } from './https-client.js';
import type { ServerPeer } from './peer-sync.js';
import { fatal, klog } from './standin-log.js';
import type { BootstrapData } from './supervisor.js';

const RETRY_MS = 5_000;

async function untilConnected<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e;
      klog.info(`Waiting for ${what}: ${e.message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

/** Fetches and validates the cluster CA: returns the PEM once it matches the token's hash (if it has one). */
export async function fetchClusterCa(serverUrl: string, caHash: string): Promise<string> {
  const url = `${serverUrl.replace(/\/$/, '')}/cacerts`;
  const r = await callHttps(url, { insecure: true });
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text.trim()}`);
  const actual = caHashOf(r.text);
  if (caHash && caHash !== actual) {
    throw new Error(`token CA hash does not match the Cluster CA certificate hash: ${caHash} != ${actual}`);
  }
  if (!caHash)
    klog.warn(
      `Cluster CA certificate is not trusted by the host CA bundle, but the token does not include a CA hash. Use the full token from the server's node-token file to enable Cluster CA validation.`,
    );
  return r.text;
}

export async function fetchServerBootstrap(serverUrl: string, token: string): Promise<BootstrapData> {
  let parsed: ReturnType<typeof parseClusterToken>;
  try {
    parsed = parseClusterToken(token);
  } catch (e) {
    return fatal(
      `starting kubernetes: preparing server: failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>: ${(e as Error).message}`,
    );
  }
  const base = serverUrl.replace(/\/$/, '');
  try {
    const ca = await untilConnected(`server ${base}`, () => fetchClusterCa(base, parsed.caHash));
    const url = `${base}/v1-k3s/server-bootstrap`;
    const r = await untilConnected(`server ${base}`, () =>
      callHttps(url, { ca, basicAuth: { user: parsed.username || 'server', password: parsed.password } }),
    );
    if (r.status !== 200)
      throw new Error(`${url}: ${r.status} ${r.status === 401 ? 'Unauthorized' : r.text.trim()}`);
    return JSON.parse(r.text) as BootstrapData;
  } catch (e) {
    return fatal(
      `starting kubernetes: preparing server: failed to get CA certs and bootstrap data: ${(e as Error).message}`,
    );
  }
}

export async function joinCluster(
  serverUrl: string,
  b: BootstrapData,
  self: ServerPeer,
): Promise<StateRecord[]> {
  const url = `${serverUrl.replace(/\/$/, '')}/v1-k3s/standin-join`;
  const r = await untilConnected(`server ${serverUrl}`, () =>
    callHttps(url, {
      method: 'POST',
      ca: b.serverCa.cert,
      basicAuth: { user: 'server', password: b.serverPassword },
      body: self,
    }),
  );
  if (r.status !== 200) return fatal(`ETCD join failed: ${r.text.trim()}`);
  klog.info(`Joined cluster through ${serverUrl} as member ${self.name}`);
  return JSON.parse(r.text) as StateRecord[];
}

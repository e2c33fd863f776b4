// Kubeconfig files as kubeadm writes them (one cluster, one user, one context, certificates inline) and a
// small client that talks to the API server as the user a kubeconfig names.
import { readFileSync } from 'node:fs';
import { callHttps } from '../k3s/https-client.js';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { toYaml } from './yaml-write.js';

export interface KubeconfigSpec {
  clusterName: string;
  server: string;
  caPem: string;
  user: string;
  clientCert?: { cert: string; key: string };
  token?: string;
  /** A PEM file holding the client certificate and key (the kubelet's rotated pair). */
  clientPemFile?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYaml(k: KubeconfigSpec): string {
  const user: Record<string, string> = {};
  if (k.clientCert) {
    user['client-certificate-data'] = b64(k.clientCert.cert);
    user['client-key-data'] = b64(k.clientCert.key);
  }
  if (k.token) user.token = k.token;
  if (k.clientPemFile) {
    user['client-certificate'] = k.clientPemFile;
    user['client-key'] = k.clientPemFile;
  }
  const context = `${k.user}@${k.clusterName}`;
  return toYaml({
    apiVersion: 'v1',
    clusters: [
      { cluster: { 'certificate-authority-data': b64(k.caPem), server: k.server }, name: k.clusterName },
    ],
    contexts: [{ context: { cluster: k.clusterName, user: k.user }, name: context }],
    'current-context': context,
    kind: 'Config',
    preferences: {},
    users: [{ name: k.user, user }],
  });
}

export interface Credentials {
  server: string;
  caPem: string;
  clientCert?: { cert: string; key: string };
  token?: string;
}

const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined);

/** The current context's server, CA and credentials of a kubeconfig text. */
export function parseKubeconfig(text: string): Credentials {
  const k = parseYamlSubset(text) as KubeObject;
  const ctxName = k['current-context'];
  const ctx =
    (k.contexts ?? []).find((c: KubeObject) => c.name === ctxName)?.context ?? k.contexts?.[0]?.context;
  // cluster-info's kubeconfig has one unnamed cluster and no contexts
  const cluster = (
    (k.clusters ?? []).find((c: KubeObject) => c.name === ctx?.cluster) ?? (ctx ? undefined : k.clusters?.[0])
  )?.cluster;
  const user = (k.users ?? []).find((u: KubeObject) => u.name === ctx?.user)?.user ?? {};
  if (!cluster?.server) throw new Error('invalid kubeconfig: no cluster for the current context');
  const cert = unb64(user['client-certificate-data']) ?? readIf(user['client-certificate']);
  const key = unb64(user['client-key-data']) ?? readIf(user['client-key']);
  return {
    server: cluster.server,
    caPem: unb64(cluster['certificate-authority-data']) ?? readIf(cluster['certificate-authority']) ?? '',
    ...(cert && key ? { clientCert: { cert, key } } : {}),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
  };
}

function readIf(path: unknown): string | undefined {
  return typeof path === 'string' && path ? readFileSync(path, 'utf8') : undefined;
}

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** JSON calls to the API server with a kubeconfig's credentials. */
export class KubeClient {
  constructor(readonly creds: Credentials) {}

  static fromFile(path: string): KubeClient {
    return new KubeClient(parseKubeconfig(readFileSync(path, 'utf8')));
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 10_000,
  ): Promise<KubeObject | undefined> {
    const r = await callHttps(`${this.creds.server}${path}`, {
      method,
      ca: this.creds.caPem || undefined,
      insecure: !this.creds.caPem,
      ...(this.creds.clientCert ? { clientCert: this.creds.clientCert } : {}),
      ...(this.creds.token ? { headers: { Authorization: `Bearer ${this.creds.token}` } } : {}),
      ...(body !== undefined ? { body } : {}),
      timeoutMs,
    });
    if (r.status === 404 && method === 'GET') return undefined;
    if (r.status >= 300) {
      let message = r.text.trim();
      try {
        message = JSON.parse(r.text).message ?? message;
      } catch {
        // a non-JSON body is shown as it came
      }
      throw new ApiCallError(r.status, message || `HTTP ${r.status}`);
    }
    if (!r.text) return undefined;
    try {
      return JSON.parse(r.text) as KubeObject;
    } catch {
      // /healthz and friends answer plain text
      return { text: r.text };
    }
  }

  get(path: string): Promise<KubeObject | undefined> {
    return this.call('GET', path);
  }

  /** Creates the object, or replaces it when it exists (kubeadm's CreateOrUpdate). */
  async apply(collection: string, obj: KubeObject): Promise<void> {
    try {
      await this.call('POST', collection, obj);
    } catch (e) {
      if (!(e instanceof ApiCallError) || e.status !== 409) throw e;
      const live = await this.get(`${collection}/${obj.metadata.name}`);
      await this.call('PUT', `${collection}/${obj.metadata.name}`, {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: live?.metadata?.resourceVersion },
      });
    }
  }

  async delete(path: string): Promise<boolean> {
    try {
      await this.call('DELETE', path);
      return true;
    } catch (e) {
      if (e instanceof ApiCallError && e.status === 404) return false;
      throw e;
    }
  }
}

// Token discovery as `kubeadm join` does it: fetch kube-public/cluster-info without trusting the server,
// accept it only when it carries a JWS of its kubeconfig made with this bootstrap token (the bootstrap
// signer signs only for present, unexpired tokens), then pin the CA it names to the given hashes.
import { callHttps } from '../k3s/https-client.js';
import { caCertHash, jwsKey, parseToken, verifyDetachedJws } from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { CLUSTER_INFO } from './cluster-objects.js';
import { KubeadmError } from './config-load.js';
import { parseKubeconfig } from './kubeconfig.js';

export interface Discovered {
  server: string;
  caPem: string;
}

/** Retried by the caller until the discovery timeout: the token may not be signed yet. */
export class DiscoveryRetry extends Error {}

export function validateClusterInfo(
  clusterInfo: KubeObject,
  token: string,
  caCertHashes: string[],
  unsafeSkipCAVerification: boolean,
): Discovered {
  const t = parseToken(token);
  if (!t)
    throw new KubeadmError(
      `the bootstrap token "${token}" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  const data: Record<string, string> = clusterInfo.data ?? {};
  const kubeconfig = data.kubeconfig;
  if (!kubeconfig) throw new DiscoveryRetry('there is no kubeconfig key in the cluster-info ConfigMap');
  const jws = data[jwsKey(t.id)];
  if (!jws)
    throw new DiscoveryRetry(
      `token id "${t.id}" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token`,
    );
  if (!verifyDetachedJws(jws, kubeconfig, t.id, t.secret))
    throw new DiscoveryRetry(
      "failed to verify JWS signature of received cluster info object, can't trust this API Server",
    );
  const creds = parseKubeconfig(kubeconfig);
  if (!unsafeSkipCAVerification) {
    const have = caCertHash(creds.caPem);
    if (!caCertHashes.includes(have))
      throw new KubeadmError(
        `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${have}" are pinned`,
      );
  }
  return { server: creds.server, caPem: creds.caPem };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `https://<endpoint>` for cluster-info every 5 s until it validates or `timeoutMs` passes. */
export async function discover(
  endpoint: string,
  token: string,
  caCertHashes: string[],
  unsafeSkip: boolean,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Discovered> {
  if (!unsafeSkip && caCertHashes.length === 0)
    throw new KubeadmError(
      'discovery.bootstrapToken: Invalid value: "": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue',
    );
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    let reason: string;
    try {
      const r = await callHttps(`https://${endpoint}${CLUSTER_INFO}`, { insecure: true, timeoutMs: 10_000 });
      if (r.status !== 200) throw new DiscoveryRetry(`Get cluster-info: HTTP ${r.status}`);
      return validateClusterInfo(JSON.parse(r.text), token, caCertHashes, unsafeSkip);
    } catch (e) {
      if (e instanceof KubeadmError)
        throw new KubeadmError(`couldn't validate the identity of the API Server: ${e.message}`);
      reason = (e as Error).message;
    }
    log(`[discovery] Failed to request cluster-info, will try again: ${reason}`);
    if (Date.now() + 5_000 > deadline)
      throw new KubeadmError(`couldn't validate the identity of the API Server: ${reason}`);
    await sleep(5_000);
  }
  throw new KubeadmError("couldn't validate the identity of the API Server: too many attempts");
}

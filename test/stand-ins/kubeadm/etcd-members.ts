// The etcd cluster calls kubeadm makes (member list, add, remove) through etcd's v3 API, as its etcd client
// does, over etcd's JSON gateway with the healthcheck client certificate from the etcd pki.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callHttps } from '../k3s/https-client.js';

export interface EtcdMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export class EtcdClient {
  private readonly tls: { ca: string; cert: string; key: string };

  /** `certDir` is kubeadm's pki dir (its healthcheck client); other stand-ins pass their PEMs. */
  constructor(
    private readonly endpoints: string[],
    certDir: string | { ca: string; cert: string; key: string },
  ) {
    this.tls =
      typeof certDir === 'string'
        ? {
            ca: readFileSync(join(certDir, 'etcd', 'ca.crt'), 'utf8'),
            cert: readFileSync(join(certDir, 'etcd', 'healthcheck-client.crt'), 'utf8'),
            key: readFileSync(join(certDir, 'etcd', 'healthcheck-client.key'), 'utf8'),
          }
        : certDir;
  }

  /** One call to the first endpoint that answers. */
  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    let last: Error | undefined;
    for (const ep of this.endpoints) {
      try {
        const r = await callHttps(`${ep}${path}`, {
          method: 'POST',
          ca: this.tls.ca,
          clientCert: { cert: this.tls.cert, key: this.tls.key },
          body,
          timeoutMs: 10_000,
        });
        const parsed = JSON.parse(r.text || '{}') as Record<string, unknown>;
        if (r.status !== 200) throw new Error(String(parsed.error ?? parsed.message ?? `HTTP ${r.status}`));
        return parsed;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last ?? new Error('no etcd endpoints');
  }

  private static members(resp: Record<string, unknown>): EtcdMember[] {
    return ((resp.members as Array<Record<string, unknown>>) ?? []).map((m) => ({
      id: String(m.ID),
      name: String(m.name ?? ''),
      peerURLs: (m.peerURLs as string[]) ?? [],
      clientURLs: (m.clientURLs as string[]) ?? [],
    }));
  }

  async list(): Promise<EtcdMember[]> {
    return EtcdClient.members(await this.call('/v3/cluster/member/list', {}));
  }

  /** `etcdctl member add`: the member list afterwards, the new (unstarted, nameless) member included. */
  async add(peerURL: string): Promise<EtcdMember[]> {
    return EtcdClient.members(await this.call('/v3/cluster/member/add', { peerURLs: [peerURL] }));
  }

  /**
   * `add` as kubeadm's etcd client makes it: etcd refuses a new voting member while a member is not
   * started or has not been connected for its health interval (5 s) yet, which is the case right after the
   * previous control-plane join; kubeadm retries with a backoff (about 200 s in all), as does this, in 1 s
   * steps for at most `tries`.
   */
  async addWithRetry(peerURL: string, log: (l: string) => void, tries = 120): Promise<EtcdMember[]> {
    for (let i = 1; ; i++) {
      try {
        return await this.add(peerURL);
      } catch (e) {
        const message = (e as Error).message;
        if (i >= tries || !/unhealthy cluster|not enough started members/.test(message)) throw e;
        log(`[etcd] Failed to add etcd member: ${message}; retrying`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  async remove(id: string): Promise<void> {
    await this.call('/v3/cluster/member/remove', { ID: id });
  }
}

/** `--initial-cluster` for a member joining: every member by name, the unstarted new one by `name`. */
export function initialCluster(members: EtcdMember[], name: string, peerURL: string): string[] {
  return members.map((m) => `${m.peerURLs.includes(peerURL) ? name : m.name}=${m.peerURLs[0]}`);
}

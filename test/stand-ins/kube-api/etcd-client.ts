// A client of etcd's v3 API through its JSON gateway (the /v3/kv/* and /v3/watch HTTP endpoints etcd serves
// on its client port next to gRPC), over HTTPS with a client certificate as kube-apiserver's --etcd-cafile,
// --etcd-certfile and --etcd-keyfile give it. Only node: built-ins, so the stand-in bundles stay one file.
import { request } from 'node:https';

export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
}

/** One compare of a transaction: the key's mod revision equals `modRevision` (0: the key is absent). */
export interface ModCompare {
  key: string;
  modRevision: number;
}

export type TxnOp = { put: { key: string; value: string } } | { delete: { key: string } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** How many keys the delete operations removed. */
  deleted: number;
}

export class EtcdError extends Error {}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The range end that makes a range cover every key starting with `prefix`, as etcdctl --prefix does. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      bytes[i] += 1;
      return bytes.subarray(0, i + 1).toString('utf8');
    }
  }
  return '\0';
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
}

const toKv = (kv: RawKv): KeyValue => ({
  key: unb64(kv.key),
  value: unb64(kv.value),
  modRevision: Number(kv.mod_revision ?? 0),
});

export interface WatchHandle {
  close(): void;
}

export class EtcdClient {
  /** The endpoint that answered last; calls start there and move on when it cannot be reached. */
  private current = 0;

  constructor(
    private readonly endpoints: string[],
    private readonly tls: EtcdTls,
    private readonly timeoutMs = 10_000,
  ) {
    if (!endpoints.length) throw new EtcdError('no etcd endpoints');
  }

  private post(endpoint: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, endpoint),
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
          ...this.tls,
          timeout: this.timeoutMs,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new EtcdError(`${endpoint}: ${e.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              return reject(
                new EtcdError(`${endpoint}${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`),
              );
            }
            if (res.statusCode !== 200)
              return reject(
                new EtcdError(`${endpoint}${path}: ${String(parsed.message ?? parsed.error ?? text)}`),
              );
            resolve(parsed);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout awaiting response')));
      req.on('error', (e) => reject(new EtcdError(`${endpoint}${path}: ${e.message}`)));
      req.end(payload);
    });
  }

  /** Sends one unary call, to each endpoint in turn until one answers. */
  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    let last: Error | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.current + i) % this.endpoints.length;
      try {
        const r = await this.post(this.endpoints[at]!, path, body);
        this.current = at;
        return r;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last!;
  }

  /** Every key under `prefix` and the store's revision they were read at. */
  async rangePrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)) });
    const header = r.header as { revision?: string } | undefined;
    return { kvs: ((r.kvs as RawKv[] | undefined) ?? []).map(toKv), revision: Number(header?.revision ?? 0) };
  }

  /** Runs `ops` if every compare holds; etcd applies them at one new revision. */
  async txn(compares: ModCompare[], ops: TxnOp[]): Promise<TxnResult> {
    const r = await this.call('/v3/kv/txn', {
      compare: compares.map((c) => ({
        key: b64(c.key),
        target: 'MOD',
        result: 'EQUAL',
        mod_revision: String(c.modRevision),
      })),
      success: ops.map((op) =>
        'put' in op
          ? { request_put: { key: b64(op.put.key), value: b64(op.put.value) } }
          : { request_delete_range: { key: b64(op.delete.key) } },
      ),
    });
    const responses = (r.responses as { response_delete_range?: { deleted?: string } }[] | undefined) ?? [];
    return {
      succeeded: r.succeeded === true,
      revision: Number((r.header as { revision?: string } | undefined)?.revision ?? 0),
      deleted: responses.reduce((n, x) => n + Number(x.response_delete_range?.deleted ?? 0), 0),
    };
  }

  /**
   * Watches every key under `prefix` from `startRevision` on one endpoint. `onEvents` gets each batch with the
   * revision of its header; `onEnd` is called once when the stream stops (error, endpoint gone, compaction).
   */
  watchPrefix(
    prefix: string,
    startRevision: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onEnd: (reason: string, compactRevision?: number) => void,
  ): WatchHandle {
    const endpoint = this.endpoints[this.current]!;
    const payload = JSON.stringify({
      create_request: {
        key: b64(prefix),
        range_end: b64(prefixEnd(prefix)),
        start_revision: String(startRevision),
        progress_notify: true,
      },
    });
    let ended = false;
    const end = (reason: string, compactRevision?: number) => {
      if (ended) return;
      ended = true;
      req.destroy();
      // The next call tries the next endpoint first.
      this.current = (this.current + 1) % this.endpoints.length;
      onEnd(reason, compactRevision);
    };
    const req = request(
      new URL('/v3/watch', endpoint),
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        ...this.tls,
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) return end(`${endpoint}/v3/watch: HTTP ${res.statusCode}`);
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line || ended) continue;
            const msg = JSON.parse(line) as {
              result?: {
                header?: { revision?: string };
                events?: { type?: string; kv: RawKv }[];
                created?: boolean;
                canceled?: boolean;
                cancel_reason?: string;
                compact_revision?: string;
              };
              error?: { message?: string };
            };
            const result = msg.result;
            if (!result) return end(`${endpoint}/v3/watch: ${msg.error?.message ?? line.slice(0, 200)}`);
            if (result.compact_revision && Number(result.compact_revision) > 0)
              return end('required revision has been compacted', Number(result.compact_revision));
            if (result.canceled) return end(`watch canceled: ${result.cancel_reason ?? ''}`);
            const events = (result.events ?? []).map((e) => ({
              type: e.type === 'DELETE' ? ('DELETE' as const) : ('PUT' as const),
              kv: toKv(e.kv),
            }));
            // The created reply's header is etcd's revision now, before the events from startRevision
            // have come: only a progress notice (no events) vouches for everything up to its header.
            if (result.created && events.length === 0) continue;
            const revision =
              events.length > 0
                ? Math.max(...events.map((e) => e.kv.modRevision))
                : Number(result.header?.revision ?? 0);
            onEvents(events, revision);
          }
        });
        res.on('end', () => end(`${endpoint}/v3/watch: stream ended`));
        res.on('error', (e) => end(`${endpoint}/v3/watch: ${e.message}`));
      },
    );
    req.on('error', (e) => end(`${endpoint}/v3/watch: ${e.message}`));
    req.end(payload);
    return { close: () => end('closed') };
  }
}

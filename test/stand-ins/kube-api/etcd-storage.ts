// The API's objects kept in a real etcd, as kube-apiserver keeps them: reads come from a mirror of the
// --etcd-prefix tree fed by one etcd watch (kube-apiserver's watch cache), writes are etcd transactions that
// compare the key's mod revision with the one the mirror holds, so two API servers on one etcd never
// overwrite each other's changes unseen. An object's resourceVersion is its etcd mod revision.
import { EventEmitter } from 'node:events';
import { EtcdClient, type EtcdTls, type KeyValue, type WatchEvent, type WatchHandle } from './etcd-client.js';
import { type ObjectStorage, StorageConflictError, type StoredRecord } from './object-storage.js';

export interface EtcdStorageOptions {
  endpoints: string[];
  tls: EtcdTls;
  /** kube-apiserver's --etcd-prefix (default /registry): every key is stored under `<prefix>/`. */
  prefix?: string;
  /** How long a write waits for the watch to bring it into the mirror. */
  writeTimeoutMs?: number;
  /** Told when the watch breaks and is started again. */
  onError?: (message: string) => void;
}

const RETRY_MS = 500;

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const hasMetadata = (v: unknown): v is { metadata: Record<string, unknown> } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { metadata?: unknown }).metadata === 'object' &&
  (v as { metadata?: unknown }).metadata !== null;

/** What etcd holds: the object without its resourceVersion, which is the key's mod revision instead. */
function encode(value: unknown): string {
  if (!hasMetadata(value)) return JSON.stringify(value);
  const { resourceVersion: _rv, ...metadata } = value.metadata;
  return JSON.stringify({ ...value, metadata });
}

function decode(kv: KeyValue): unknown {
  const value = JSON.parse(kv.value) as unknown;
  if (hasMetadata(value)) value.metadata.resourceVersion = String(kv.modRevision);
  return value;
}

export class EtcdStorage extends EventEmitter implements ObjectStorage {
  private readonly records = new Map<string, StoredRecord>();
  private readonly client: EtcdClient;
  private readonly root: string;
  /** The etcd revision the mirror is complete up to. */
  private revision = 0;
  private watch: WatchHandle | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private closed = false;

  private constructor(private readonly opts: EtcdStorageOptions) {
    super();
    // Every open watch listens here.
    this.setMaxListeners(0);
    this.client = new EtcdClient(opts.endpoints, opts.tls);
    this.root = `${(opts.prefix ?? '/registry').replace(/\/+$/, '')}/`;
  }

  /** Reads everything under the prefix, then follows the watch; rejects when no endpoint answers. */
  static async open(opts: EtcdStorageOptions): Promise<EtcdStorage> {
    const storage = new EtcdStorage(opts);
    await storage.resync();
    storage.follow();
    return storage;
  }

  get resourceVersion(): string {
    return String(this.revision);
  }

  get(key: string): unknown {
    return this.records.get(key)?.value ?? undefined;
  }

  values(prefix: string): unknown[] {
    return [...this.records.values()]
      .filter((r) => r.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((r) => r.value);
  }

  /**
   * Writes if the key still has the mod revision the mirror holds, then waits until the watch has brought the
   * write into the mirror, so a read right after sees it. Throws StorageConflictError when another writer
   * changed the key first (once the mirror has caught up with that change).
   */
  async put(key: string, build: (rv: number) => unknown): Promise<StoredRecord> {
    const held = this.records.get(key);
    const value = build(this.revision + 1);
    const etcdKey = this.root + key;
    const r = await this.client.txn(
      [{ key: etcdKey, modRevision: held?.rv ?? 0 }],
      [value === null ? { delete: { key: etcdKey } } : { put: { key: etcdKey, value: encode(value) } }],
    );
    if (!r.succeeded) {
      await this.caughtUp(r.revision).catch(() => undefined);
      throw new StorageConflictError(key);
    }
    if (value === null) {
      if (r.deleted > 0) await this.caughtUp(r.revision);
      return { key, rv: r.revision, value: null };
    }
    await this.caughtUp(r.revision);
    return { key, rv: r.revision, value: build(r.revision) };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error('etcd storage closed'));
    }
  }

  private caughtUp(revision: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    const ms = this.opts.writeTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`etcd watch did not deliver revision ${revision} within ${ms} ms`));
        }, ms),
      };
      this.waiters.push(waiter);
    });
  }

  private advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    const ready = this.waiters.filter((w) => w.revision <= this.revision);
    this.waiters = this.waiters.filter((w) => w.revision > this.revision);
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private set(record: StoredRecord): void {
    const previous = this.get(record.key);
    if (record.value === null) this.records.delete(record.key);
    else this.records.set(record.key, record);
    this.emit('change', record, previous);
  }

  /** Replaces the mirror with a fresh read, emitting a change for every key that differs. */
  private async resync(): Promise<void> {
    const { kvs, revision } = await this.client.rangePrefix(this.root);
    const seen = new Set<string>();
    for (const kv of kvs) {
      const key = kv.key.slice(this.root.length);
      seen.add(key);
      if (this.records.get(key)?.rv !== kv.modRevision)
        this.set({ key, rv: kv.modRevision, value: decode(kv) });
    }
    for (const key of [...this.records.keys()])
      if (!seen.has(key)) this.set({ key, rv: revision, value: null });
    this.advance(revision);
  }

  private apply(events: WatchEvent[], revision: number): void {
    for (const e of events) {
      const key = e.kv.key.slice(this.root.length);
      if (e.kv.modRevision <= (this.records.get(key)?.rv ?? 0)) continue;
      this.set({ key, rv: e.kv.modRevision, value: e.type === 'DELETE' ? null : decode(e.kv) });
    }
    this.advance(revision);
  }

  private follow(): void {
    if (this.closed) return;
    this.watch = this.client.watchPrefix(
      this.root,
      this.revision + 1,
      (events, revision) => this.apply(events, revision),
      (reason, compacted) => {
        if (this.closed) return;
        this.opts.onError?.(`etcd watch: ${reason}; starting it again`);
        this.retryTimer = setTimeout(() => {
          // A watch that fell behind a compaction cannot resume: read everything again.
          const ready = compacted ? this.resync() : Promise.resolve();
          ready.then(
            () => this.follow(),
            (e: Error) => {
              this.opts.onError?.(`etcd: ${e.message}`);
              this.follow();
            },
          );
        }, RETRY_MS);
      },
    );
  }
}

// Where the API keeps objects. The API reads from the storage synchronously (as kube-apiserver serves reads
// from its watch cache) and awaits writes, so a backend that mirrors etcd through a watch fits the same
// shape as the in-memory one here and the k3s stand-in's replicated state.
import { EventEmitter } from 'node:events';

export interface StoredRecord {
  key: string;
  /** The cluster resourceVersion this record was written at. */
  rv: number;
  /** The stored object, or null for a deletion. */
  value: unknown;
}

/** A write lost to another writer of the same key (a backend shared by several API servers throws it). */
export class StorageConflictError extends Error {
  constructor(readonly key: string) {
    super(`${key} was changed by another writer`);
  }
}

export interface ObjectStorage {
  /** The latest resourceVersion written. */
  readonly resourceVersion: string;
  get(key: string): unknown;
  /** Live values whose key starts with `prefix`, in key order. */
  values(prefix: string): unknown[];
  /**
   * Writes at the next resourceVersion; `build` receives it so the object can carry it (null deletes). A shared
   * backend throws StorageConflictError when the key changed since this storage last saw it.
   */
  put(key: string, build: (rv: number) => unknown): StoredRecord | Promise<StoredRecord>;
  on(event: 'change', listener: (record: StoredRecord, previous: unknown) => void): unknown;
  off(event: 'change', listener: (record: StoredRecord, previous: unknown) => void): unknown;
}

/** A storage for one process: what a stand-in uses when it has no datastore of its own. */
export class MemoryStorage extends EventEmitter implements ObjectStorage {
  private readonly records = new Map<string, StoredRecord>();
  private counter = 0;

  constructor() {
    super();
    // Every open watch listens here.
    this.setMaxListeners(0);
  }

  get resourceVersion(): string {
    return String(this.counter);
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

  put(key: string, build: (rv: number) => unknown): StoredRecord {
    const rv = ++this.counter;
    const record: StoredRecord = { key, rv, value: build(rv) };
    const previous = this.get(key);
    if (record.value === null) this.records.delete(key);
    else this.records.set(key, record);
    this.emit('change', record, previous);
    return record;
  }
}

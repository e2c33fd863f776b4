// The replicated datastore standing in for etcd/kine: a last-writer-wins map of records keyed like
// "node/<name>", "pw/<name>", "server/<name>". Every server holds all records; a record carries the cluster
// resourceVersion it was written at, and ties break on the writing server's name.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StateRecord {
  key: string;
  rv: number;
  origin: string;
  value: unknown;
}

const newer = (a: StateRecord, b: StateRecord | undefined) =>
  !b || a.rv > b.rv || (a.rv === b.rv && a.origin > b.origin);

export class ClusterState extends EventEmitter {
  private readonly records = new Map<string, StateRecord>();
  private counter = 0;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly origin: string,
  ) {
    super();
    // Every open watch listens here.
    this.setMaxListeners(0);
    if (existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { counter: number; records: StateRecord[] };
      this.counter = saved.counter;
      for (const r of saved.records) this.records.set(r.key, r);
    }
  }

  get resourceVersion(): string {
    return String(this.counter);
  }

  get(key: string): unknown {
    const r = this.records.get(key);
    return r && r.value !== null ? r.value : undefined;
  }

  values(prefix: string): unknown[] {
    return [...this.records.values()]
      .filter((r) => r.key.startsWith(prefix) && r.value !== null)
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((r) => r.value);
  }

  /** Writes locally at the next resourceVersion; `build` receives it so objects can carry it. */
  put(key: string, build: (rv: number) => unknown): StateRecord {
    const rv = ++this.counter;
    const record: StateRecord = { key, rv, origin: this.origin, value: build(rv) };
    const previous = this.get(key);
    this.records.set(key, record);
    this.scheduleSave();
    this.emit('change', record, previous);
    this.emit('local', record);
    return record;
  }

  /** Applies records from a peer; returns how many were newer than what this server held. */
  merge(incoming: StateRecord[]): number {
    let applied = 0;
    for (const r of incoming) {
      if (r.rv > this.counter) this.counter = r.rv;
      if (!newer(r, this.records.get(r.key))) continue;
      const previous = this.get(r.key);
      this.records.set(r.key, r);
      this.emit('change', r, previous);
      applied++;
    }
    if (applied) this.scheduleSave();
    return applied;
  }

  snapshot(): StateRecord[] {
    return [...this.records.values()];
  }

  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ counter: this.counter, records: this.snapshot() }), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private scheduleSave(): void {
    this.saveTimer ??= setTimeout(() => this.flush(), 500);
  }
}

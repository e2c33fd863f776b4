// Watches: a bounded history of recent changes, so a watch that starts at the resourceVersion of an earlier
// list sees every change since (kubectl wait and rollout status list, then watch), and the event stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from './kube-object.js';
import type { ObjectStorage, StoredRecord } from './object-storage.js';

const HISTORY = 10_000;

interface Change {
  record: StoredRecord;
  previous: unknown;
}

export interface WatchRequest {
  prefix: string;
  /** Of the watched type, for the initial-events bookmark. */
  kind: string;
  apiVersion: string;
  /** '' or '0': start with the current objects; a number: replay what changed after it. */
  since: string;
  sendInitialEvents: boolean;
  timeoutSeconds: number;
  matches: (obj: KubeObject) => boolean;
  view: (obj: KubeObject) => KubeObject;
}

export class WatchHistory {
  private readonly changes: Change[] = [];
  /** The highest resourceVersion no longer in the history. */
  private droppedThrough = 0;

  constructor(private readonly storage: ObjectStorage) {
    storage.on('change', (record, previous) => {
      this.changes.push({ record, previous });
      if (this.changes.length > HISTORY) this.droppedThrough = this.changes.shift()!.record.rv;
    });
  }

  /** Serves one watch until the client leaves or timeoutSeconds pass. */
  serve(req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // A client waits for the headers before it counts the watch as started, even when no event comes yet.
    res.flushHeaders();
    const send = (type: string, object: KubeObject) => res.write(`${JSON.stringify({ type, object })}\n`);
    const deliver = ({ record, previous }: Change) => {
      if (!record.key.startsWith(w.prefix)) return;
      const before = previous ? (previous as KubeObject) : undefined;
      const after = record.value === null ? undefined : (record.value as KubeObject);
      const was = before !== undefined && w.matches(before);
      const is = after !== undefined && w.matches(after);
      if (is) send(was ? 'MODIFIED' : 'ADDED', w.view(after!));
      else if (was) {
        const gone = structuredClone(before!);
        gone.metadata.resourceVersion = String(record.rv);
        send('DELETED', w.view(gone));
      }
    };
    const since = Number(w.since || '0');
    if (since > 0 && since < this.droppedThrough) {
      send('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${since} (${this.droppedThrough})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    if (since === 0 || w.sendInitialEvents) {
      for (const obj of this.storage.values(w.prefix) as KubeObject[])
        if (w.matches(obj)) send('ADDED', w.view(obj));
    }
    if (since > 0) for (const c of this.changes) if (c.record.rv > since) deliver(c);
    if (w.sendInitialEvents) {
      send('BOOKMARK', {
        kind: w.kind,
        apiVersion: w.apiVersion,
        metadata: {
          resourceVersion: this.storage.resourceVersion,
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      });
    }
    const live = (record: StoredRecord, previous: unknown) => deliver({ record, previous });
    this.storage.on('change', live);
    const timer = setTimeout(() => res.end(), w.timeoutSeconds * 1000);
    req.on('close', () => {
      clearTimeout(timer);
      this.storage.off('change', live);
    });
  }
}

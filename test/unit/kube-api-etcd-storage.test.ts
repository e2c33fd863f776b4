// The stand-in API's etcd storage against a real etcd started here on loopback with TLS client certificates:
// objects land in etcd under /registry with their mod revision as resourceVersion, a second storage on the same
// etcd sees them through its watch, and two API servers on one etcd get resourceVersion conflicts right.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcd, type TestEtcd } from '../helpers/etcd-server.js';
import { ApiError, KubeApiServer } from '../stand-ins/kube-api/api-server.js';
import { EtcdClient } from '../stand-ins/kube-api/etcd-client.js';
import { EtcdStorage } from '../stand-ins/kube-api/etcd-storage.js';
import type { KubeObject } from '../stand-ins/kube-api/kube-object.js';
import { StorageConflictError, type StoredRecord } from '../stand-ins/kube-api/object-storage.js';

let etcd: TestEtcd;
const opened: EtcdStorage[] = [];

async function open(): Promise<EtcdStorage> {
  const s = await EtcdStorage.open({ endpoints: [etcd.endpoint], tls: etcd.client });
  opened.push(s);
  return s;
}

/** Waits (at most 15 s: etcd syncs every write to disk, slow on a busy machine) until `check` holds. */
async function eventually(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await sleep(50);
  }
  assert.fail(`not within 15 s: ${what}`);
}

const api = (storage: EtcdStorage) =>
  new KubeApiServer({ storage, version: { gitVersion: 'v1.29.3' }, advertiseAddress: '127.0.0.1:6443' });

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  for (const s of opened) s.close();
  await etcd?.stop();
});

describe('etcd object storage', () => {
  test('writes land in etcd under /registry, without resourceVersion, which is the mod revision', async () => {
    const s = await open();
    const r = await s.put('k/core/configmaps/default/one', (rv) => ({
      metadata: { name: 'one', resourceVersion: String(rv) },
      data: { a: '1' },
    }));
    assert.equal(s.resourceVersion, String(r.rv));
    assert.deepEqual(s.get('k/core/configmaps/default/one'), {
      metadata: { name: 'one', resourceVersion: String(r.rv) },
      data: { a: '1' },
    });
    const raw = await new EtcdClient([etcd.endpoint], etcd.client).rangePrefix(
      '/registry/k/core/configmaps/',
    );
    const kv = raw.kvs.find((k) => k.key === '/registry/k/core/configmaps/default/one');
    assert.equal(kv?.modRevision, r.rv);
    assert.deepEqual(JSON.parse(kv!.value), { metadata: { name: 'one' }, data: { a: '1' } });
  });

  test('a second storage loads what is there and follows the other one through its watch', async () => {
    const a = await open();
    const b = await open();
    assert.ok(b.get('k/core/configmaps/default/one'), 'loaded at open');
    const seen: StoredRecord[] = [];
    b.on('change', (record: StoredRecord) => seen.push(record));
    const written = await a.put('k/core/configmaps/default/two', (rv) => ({
      metadata: { name: 'two', resourceVersion: String(rv) },
    }));
    await eventually('b sees two', () => b.get('k/core/configmaps/default/two') !== undefined);
    assert.deepEqual(
      seen.map((r) => [r.key, r.rv]),
      [['k/core/configmaps/default/two', written.rv]],
    );
    await a.put('k/core/configmaps/default/two', () => null);
    await eventually('b sees two deleted', () => b.get('k/core/configmaps/default/two') === undefined);
    assert.equal(seen.at(-1)?.value, null);
    assert.deepEqual(
      b.values('k/core/configmaps/').map((o) => (o as KubeObject).metadata.name),
      ['one'],
    );
  });

  test('of two writes from the same revision one wins and the other is a conflict', async () => {
    const a = await open();
    const b = await open();
    const key = 'k/core/configmaps/default/race';
    const results = await Promise.allSettled([
      a.put(key, () => ({ metadata: { name: 'race' }, data: { by: 'a' } })),
      b.put(key, () => ({ metadata: { name: 'race' }, data: { by: 'b' } })),
    ]);
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(lost.length, 1, JSON.stringify(results));
    assert.ok((lost[0] as PromiseRejectedResult).reason instanceof StorageConflictError);
    // The loser has caught up with the winner's write by the time it hears of the conflict.
    const winner = results[0]!.status === 'fulfilled' ? 'a' : 'b';
    const loser = winner === 'a' ? b : a;
    assert.equal((loser.get(key) as KubeObject).data.by, winner);
  });
});

describe('two API servers on one etcd', () => {
  test('see each other objects, conflict on a pinned resourceVersion and merge unpinned patches', async () => {
    const one = api(await open());
    const two = api(await open());
    await Promise.all([one.ensureBuiltins(), two.ensureBuiltins()]);
    const cm = one.typeOf('', 'ConfigMap');
    const created = await one.create(cm, 'default', { metadata: { name: 'shared' }, data: { n: '0' } });
    await eventually('two sees the ConfigMap', () => two.get(cm, 'default', 'shared') !== undefined);
    assert.equal(
      two.get(cm, 'default', 'shared')!.metadata.resourceVersion,
      created.metadata.resourceVersion,
    );

    const stale = created.metadata.resourceVersion;
    const updates = await Promise.allSettled([
      one.update(cm, 'default', 'shared', {
        metadata: { name: 'shared', resourceVersion: stale },
        data: { n: '1' },
      }),
      two.update(cm, 'default', 'shared', {
        metadata: { name: 'shared', resourceVersion: stale },
        data: { n: '2' },
      }),
    ]);
    const refused = updates.filter((u) => u.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(refused.length, 1, JSON.stringify(updates));
    assert.ok(refused[0]!.reason instanceof ApiError);
    assert.equal(refused[0]!.reason.code, 409);
    assert.match(refused[0]!.reason.message, /the object has been modified/);

    await Promise.all([
      one.patch(cm, 'default', 'shared', 'application/merge-patch+json', '{"data":{"a":"1"}}'),
      two.patch(cm, 'default', 'shared', 'application/merge-patch+json', '{"data":{"b":"2"}}'),
    ]);
    await eventually('both patches on both servers', () =>
      [one, two].every((s) => {
        const d = s.get(cm, 'default', 'shared')?.data ?? {};
        return d.a === '1' && d.b === '2';
      }),
    );

    await assert.rejects(
      two.create(cm, 'default', { metadata: { name: 'shared' } }),
      (e: ApiError) => e.code === 409 && e.reason === 'AlreadyExists',
    );
    await one.remove(cm, 'default', 'shared');
    await eventually('two sees the delete', () => two.get(cm, 'default', 'shared') === undefined);
  });
});

// berth cert --alt-names and berth cert renew on a kubeadm cluster, as the driver plans them: which files
// change (and which never do), the names kept for later certificates, and the restart script.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAltNames } from '../../src/cli/cert.js';
import { kubeadmRuntime } from '../../src/runtime/kubeadm/driver.js';
import { describeCertificate } from '../../src/runtime/kubeadm/pki/index.js';
import type { KubeadmState } from '../../src/runtime/kubeadm/state.js';
import type { RuntimeContext } from '../../src/runtime/types.js';
import { kubeadmBase, kubeadmCtx } from '../helpers/kubeadm-context.js';
import { shSyntax } from '../helpers/run-local.js';

const change = (
  ctx: RuntimeContext<KubeadmState>,
  c: Parameters<NonNullable<typeof kubeadmRuntime.changeCertificates>>[1],
) => (kubeadmRuntime.changeCertificates as NonNullable<typeof kubeadmRuntime.changeCertificates>)(ctx, c);

const apiserverNames = (s: KubeadmState, ip: string) => {
  const f = describeCertificate(s.masters[ip]?.pki['apiserver.crt'] as string);
  return [...f.dnsNames, ...f.ipAddresses];
};

test('alt-names: a new API server pair on every master, other files kept, the names kept in the state', async () => {
  const ctx = await kubeadmCtx(3, 1);
  const { state, steps } = await change(ctx, {
    kind: 'alt-names',
    names: ['added.example.test', '192.0.2.20'],
  });
  assert.deepEqual(state.altNames, { 'added.example.test': true, '192.0.2.20': true });
  assert.equal(state.cas, ctx.state.cas);
  for (const m of ctx.masters) {
    const before = ctx.state.masters[m.ip];
    const after = state.masters[m.ip];
    assert.ok(before && after);
    assert.notEqual(after.pki['apiserver.crt'], before.pki['apiserver.crt']);
    for (const rel of Object.keys(before.pki).filter((r) => !r.startsWith('apiserver.')))
      assert.equal(after.pki[rel], before.pki[rel], `${rel} is kept`);
    assert.deepEqual(after.kubeconfigs, before.kubeconfigs);
    const names = apiserverNames(state, m.ip);
    for (const n of ['added.example.test', '192.0.2.20', 'apiserver.cluster.local', m.ip])
      assert.ok(names.includes(n), n);
  }
  assert.deepEqual(
    steps.map((s) => `${s.host} ${s.id} ${s.always}`),
    ctx.masters.map((m) => `${m.ip} apiserver-alt-names true`),
  );
  const first = steps[0];
  assert.deepEqual(
    first?.files?.map((f) => `${f.path} ${f.mode?.toString(8)}`),
    ['/etc/kubernetes/pki/apiserver.crt 644', '/etc/kubernetes/pki/apiserver.key 600'],
  );
  const script = (first?.commands ?? []).join('\n');
  assert.match(script, /restart_pod kube-apiserver 10\.0\.0\.1 6443\n/);
  assert.doesNotMatch(script, /restart_pod etcd/);
  for (const c of first?.commands ?? []) shSyntax(c);
  assert.ok(first?.secrets?.includes(state.masters['10.0.0.1']?.pki['apiserver.key'] as string));

  // a later apply's prepare keeps the names: the same digest, so nothing is made again, and a master
  // added later gets them too
  const again = await kubeadmRuntime.prepare(kubeadmBase(3, 1), state);
  assert.equal(again.namesDigest, state.namesDigest);
  assert.equal(again.masters['10.0.0.2'], state.masters['10.0.0.2']);
  const grown = await kubeadmRuntime.prepare(kubeadmBase(4, 1), state);
  assert.ok(apiserverNames(grown, '10.0.0.4').includes('added.example.test'));
  assert.deepEqual(grown.altNames, state.altNames);
});

test('renew: every leaf and control-plane kubeconfig new, CAs and service-account keys kept, the control plane restarted in order', async () => {
  const ctx = await kubeadmCtx(3, 0);
  const { state, steps } = await change(ctx, { kind: 'renew' });
  const m0 = '10.0.0.1';
  const before = ctx.state.masters[m0];
  const after = state.masters[m0];
  assert.ok(before && after);
  for (const rel of Object.keys(before.pki)) {
    const kept = /^(ca|front-proxy-ca|etcd\/ca)\.|^sa\./.test(rel);
    assert.equal(after.pki[rel] === before.pki[rel], kept, `${rel} ${kept ? 'kept' : 'renewed'}`);
  }
  for (const name of Object.keys(before.kubeconfigs))
    assert.notEqual(after.kubeconfigs[name], before.kubeconfigs[name], name);
  const paths = steps[0]?.files?.map((f) => f.path) ?? [];
  assert.ok(
    paths.includes('/etc/kubernetes/pki/etcd/peer.crt') && paths.includes('/etc/kubernetes/admin.conf'),
  );
  assert.ok(
    !paths.some((p) => /pki\/(ca|etcd\/ca|front-proxy-ca)\.|pki\/sa\./.test(p)),
    'no CA is sent again',
  );
  assert.ok(
    paths.includes('/var/lib/berth/c1/kubeadm-upload/super-admin.conf'),
    'super-admin.conf only where it exists',
  );
  const script = (steps[0]?.commands ?? []).join('\n');
  const order = [...script.matchAll(/^restart_pod (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(order, ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  for (const c of steps[0]?.commands ?? []) shSyntax(c);
  assert.equal(state.altNames, undefined);
});

test('--alt-names takes addresses and DNS names only', () => {
  assert.deepEqual(parseAltNames('A.Example.test, 192.0.2.1,*.apps.example.test,192.0.2.1'), [
    'a.example.test',
    '192.0.2.1',
    '*.apps.example.test',
  ]);
  for (const bad of ['', ',', 'a b', 'exa_mple.test', '-x.test'])
    assert.throws(() => parseAltNames(bad), { name: 'UsageError' }, bad);
});

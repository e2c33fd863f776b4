import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { HostAction } from '../../src/host/action.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { k0sRuntime } from '../../src/runtime/k0s/driver.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { fillOutputs, outputRefs, stepOutput } from '../../src/runtime/step-output.js';
import type { HostStep } from '../../src/runtime/types.js';
import { InputError } from '../../src/util/errors.js';
import { k0sBase, k0sCtx } from '../helpers/k0s-context.js';
import { clusterfileDocs } from '../helpers/kubeadm-config-input.js';
import { sh, shSyntax } from '../helpers/run-local.js';

const allText = (a: HostAction) =>
  [...(a.commands ?? []), ...(a.files ?? []).map((f) => f.content)].join('\n');
const syntax = (steps: HostAction[]) => {
  for (const s of steps) for (const c of s.commands ?? []) shSyntax(c);
};
const step = (steps: HostStep[], host: string, id: string): HostStep => {
  const s = steps.find((x) => x.host === host && x.id === id);
  assert.ok(s, `${host} ${id} is planned`);
  return s;
};

test('runtimeFor: apps.sealos.io/distribution=k0s is the k0s driver, with its defaults', () => {
  const r = runtimeFor({ 'apps.sealos.io/distribution': 'k0s' });
  assert.equal(r.name, 'k0s');
  assert.deepEqual(r.defaults.configFiles, ['etc/k0s.yaml', 'etc/k0s.yml']);
  assert.deepEqual(r.defaults.configKinds, ['ClusterConfig']);
  assert.deepEqual(r.defaults.certificateDirs, ['/var/lib/k0s/pki', '/var/lib/k0s/pki/etcd']);
  for (const p of ['/etc/k0s', '/var/lib/k0s', '/run/k0s', '/usr/libexec/k0s'])
    assert.ok(r.defaults.resetPaths.includes(p), `reset removes ${p}`);
  assert.equal(typeof r.upgrade, 'function');
});

test('init: k0s install controller with a worker, no taints when the cluster has no nodes, then k0s start', () => {
  const alone = k0sRuntime.init(k0sCtx(1, 0));
  assert.equal(alone.length, 1);
  const init = step(alone, '10.0.0.1', 'init');
  const text = allText(init);
  assert.match(
    text,
    /\/usr\/local\/bin\/k0s install controller --config=\/etc\/k0s\/k0s\.yaml --enable-worker --no-taints --force\n\/usr\/local\/bin\/k0s start/,
  );
  assert.doesNotMatch(text, /--token-file/);
  assert.match(text, /k0s kubeconfig admin > \/var\/lib\/k0s\/berth-admin\.conf\.new/);
  assert.match(text, /cmp -s \/var\/lib\/berth\/c1\/rootfs\/bin\/k0s \/usr\/local\/bin\/k0s/);
  const config = init.files?.find((f) => f.path === '/etc/k0s/k0s.yaml.new');
  assert.equal(config?.mode, 0o600);
  assert.equal(parse(config?.content ?? '').spec.api.address, '10.0.0.1');
  const withNodes = allText(step(k0sRuntime.init(k0sCtx(1, 2)), '10.0.0.1', 'init'));
  assert.match(withNodes, /install controller --config=\/etc\/k0s\/k0s\.yaml --enable-worker --force/);
  assert.ok(
    init.files?.some((f) => f.path === '/etc/k0s/containerd.d/berth-registry.toml'),
    'the registry drop-in',
  );
  assert.ok(init.secrets?.includes('reg-s3cret'));
  syntax(alone);
});

test('joins: fresh tokens from the first controller as always-step outputs, in a 0600 file removed after', () => {
  const ctx = k0sCtx(3, 2);
  const controllers = k0sRuntime.joinMasters(ctx, ctx.masters.slice(1));
  assert.deepEqual(
    controllers.map((s) => `${s.host} ${s.id}`),
    ['10.0.0.1 controller-token', '10.0.0.2 join', '10.0.0.3 join'],
  );
  const token = step(controllers, '10.0.0.1', 'controller-token');
  assert.equal(token.always, true);
  assert.equal(token.outputs?.token, '/usr/local/bin/k0s token create --role=controller --expiry=1h --wait');
  const join = step(controllers, '10.0.0.2', 'join');
  const file = join.files?.find((f) => f.path === '/etc/k0s/join-token');
  assert.deepEqual(file, {
    path: '/etc/k0s/join-token',
    content: stepOutput('10.0.0.1', 'controller-token', 'token'),
    mode: 0o600,
  });
  const text = allText(join);
  const first = join.commands?.[0] ?? '';
  assert.ok(
    first.startsWith("trap 'rm -f /etc/k0s/join-token' EXIT\n"),
    'the token goes however the join ends',
  );
  assert.ok(
    first.includes('install -m 0755') && first.includes('--token-file'),
    'the whole join is under it',
  );
  assert.match(
    text,
    /k0s install controller --config=\/etc\/k0s\/k0s\.yaml --enable-worker --token-file=\/etc\/k0s\/join-token --force/,
  );
  // after the join, the service is written again without the token, so nothing refers to the removed file
  assert.match(
    text,
    /# joined: the service no longer names the token[^\n]*\n[^\n]*install controller --config=\/etc\/k0s\/k0s\.yaml --enable-worker --force\nfi/,
  );
  assert.ok(
    !JSON.stringify(join.inputs).includes('berth-output'),
    'a new token never makes a done join run again',
  );

  const workers = k0sRuntime.joinNodes(ctx, ctx.nodes);
  assert.deepEqual(
    workers.map((s) => `${s.host} ${s.id}`),
    ['10.0.0.1 worker-token', '10.0.0.11 join', '10.0.0.12 join'],
  );
  assert.equal(
    step(workers, '10.0.0.1', 'worker-token').outputs?.token,
    '/usr/local/bin/k0s token create --role=worker --expiry=1h --wait',
  );
  const w = step(workers, '10.0.0.11', 'join');
  assert.deepEqual(outputRefs(allText(w)), [{ host: '10.0.0.1', step: 'worker-token', name: 'token' }]);
  assert.match(
    allText(w),
    /k0s install worker --token-file=\/etc\/k0s\/join-token --force\n\/usr\/local\/bin\/k0s start/,
  );
  assert.ok(!w.files?.some((f) => f.path.startsWith('/etc/k0s/k0s.yaml')), 'workers read no k0s.yaml');
  // the engine fills the token just before the join runs
  const filled = fillOutputs(
    w.files?.find((f) => f.path === '/etc/k0s/join-token')?.content ?? '',
    () => 'H4sI-token',
  );
  assert.equal(filled, 'H4sI-token');
  assert.deepEqual(k0sRuntime.joinMasters(ctx, []), []);
  assert.deepEqual(k0sRuntime.joinNodes(ctx, []), []);
  // with no controller leaving, no etcd step is planned (it would run on every apply)
  assert.deepEqual(k0sRuntime.deleteMasters(ctx, []), []);
  assert.deepEqual(k0sRuntime.deleteNodes(ctx, []), []);
  syntax([...controllers, ...workers]);
});

test('several controllers: node-local load balancing on, kept on when controllers go; no berth balancer', async () => {
  const three = await k0sRuntime.prepare(k0sBase(3, 1), undefined);
  assert.deepEqual(three, { nodeLocalBalancing: true });
  const one = await k0sRuntime.prepare(k0sBase(1, 1), undefined);
  assert.deepEqual(one, { nodeLocalBalancing: false });
  assert.deepEqual(await k0sRuntime.prepare(k0sBase(1, 1), three), { nodeLocalBalancing: true });
  const ctx = k0sCtx(3, 1);
  const config = parse(
    k0sRuntime
      .joinMasters(ctx, ctx.masters.slice(1))[1]
      ?.files?.find((f) => f.path === '/etc/k0s/k0s.yaml.new')?.content ?? '',
  );
  assert.deepEqual(config.spec.network.nodeLocalLoadBalancing, { enabled: true, type: 'EnvoyProxy' });
  const sync = k0sRuntime.nodeBalancingSync(ctx, ctx.nodes[0]!);
  assert.equal(sync.files, undefined, 'no balancer files');
  assert.match(allText(sync), /printf '%s %s # berth\\n' 10\.0\.0\.1 apiserver\.cluster\.local/);
  assert.doesNotMatch(
    allText(step(k0sRuntime.joinNodes(ctx, ctx.nodes), '10.0.0.11', 'join')),
    /lvscare|balancer/,
  );
});

test('a controller whose k0s.yaml changed in what it serves is restarted; other controllers coming do not', () => {
  const two = k0sCtx(2, 0);
  const three = k0sCtx(3, 0);
  const a = step(k0sRuntime.init(two), '10.0.0.1', 'init');
  const b = step(k0sRuntime.init(three), '10.0.0.1', 'init');
  assert.deepEqual(a.inputs, b.inputs, 'a third controller restarts neither of the first two');
  assert.ok(allText(b).includes('10.0.0.3'), 'though the file written names it');
  const one = step(k0sRuntime.init(k0sCtx(1, 0)), '10.0.0.1', 'init');
  assert.notDeepEqual(one.inputs, a.inputs, 'node-local load balancing turned on restarts the first');
  const custom = {
    ...two,
    distributionConfig: clusterfileDocs(
      'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  network: { podCIDR: 10.50.0.0/16 }\n',
    ),
  };
  assert.notDeepEqual(
    step(k0sRuntime.init(custom), '10.0.0.1', 'init').inputs,
    a.inputs,
    'a ClusterConfig does',
  );
  assert.match(
    allText(a),
    /if \[ "\$changed" = 1 \]; then echo "k0s\.yaml changed; restarting k0s"; \/usr\/local\/bin\/k0s stop && \/usr\/local\/bin\/k0s start; fi/,
  );
  const w1 = step(k0sRuntime.joinNodes(two, two.nodes.concat(k0sCtx(1, 1).nodes)), '10.0.0.11', 'join');
  const w2 = step(k0sRuntime.joinNodes(three, three.nodes.concat(k0sCtx(1, 1).nodes)), '10.0.0.11', 'join');
  assert.deepEqual(w1.inputs, w2.inputs, 'a worker does not join again when controllers change');
});

test('prepare refuses a k0s older than v1.28 with one line', async () => {
  await assert.rejects(
    k0sRuntime.prepare(k0sBase(1, 0, 'v1.27.9+k0s.0'), undefined),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        "the cluster image's version v1.27.9+k0s.0 is older than k0s v1.28, the oldest berth installs; use a newer image",
  );
});

test('delete: drain and delete through a staying controller, etcd leave by peer address, then k0s reset', () => {
  const ctx = k0sCtx(3, 2);
  const gone = ctx.masters[0]!;
  const rest = { ...ctx, masters: ctx.masters.slice(1) };
  const del = k0sRuntime.deleteMasters(rest, [gone]);
  assert.deepEqual(
    del.map((s) => `${s.host} ${s.id}`),
    [
      '10.0.0.2 remove-node-10.0.0.1',
      '10.0.0.2 leave-etcd-10.0.0.1',
      '10.0.0.1 reset',
      '10.0.0.2 forget-node-10.0.0.1',
    ],
  );
  assert.ok(del.every((s) => s.always));
  assert.match(allText(del[0]!), /k0s kubectl --cache-dir \/var\/lib\/berth\/c1\/kube-cache drain "\$name"/);
  assert.match(allText(del[1]!), /k0s etcd member-list \| grep -qF "\\"https:\/\/\$ip:2380\\""/);
  assert.match(allText(del[1]!), /elif \/usr\/local\/bin\/k0s etcd leave --peer-address="\$ip"; then/);
  // two leaving at once: both Nodes, then one leave step for both (a stopped member first), then the resets
  const two = k0sRuntime.deleteMasters({ ...ctx, masters: [ctx.masters[0]!] }, ctx.masters.slice(1));
  assert.deepEqual(
    two.map((s) => `${s.host} ${s.id}`),
    [
      '10.0.0.1 remove-node-10.0.0.2',
      '10.0.0.1 remove-node-10.0.0.3',
      '10.0.0.1 leave-etcd-10.0.0.2,10.0.0.3',
      '10.0.0.2 reset',
      '10.0.0.3 reset',
      '10.0.0.1 forget-node-10.0.0.2',
      '10.0.0.1 forget-node-10.0.0.3',
    ],
  );
  assert.match(allText(two[2]!), /^pending='10\.0\.0\.2 10\.0\.0\.3'$/m);
  assert.throws(() => k0sRuntime.deleteMasters({ ...ctx, masters: [gone] }, [gone]), /leaves no cluster/);
  const dn = k0sRuntime.deleteNodes(ctx, [ctx.nodes[1]!]);
  assert.deepEqual(
    dn.map((s) => `${s.host} ${s.id}`),
    // the worker's kubelet registers its Node again until the reset stops it
    ['10.0.0.1 remove-node-10.0.0.12', '10.0.0.12 reset', '10.0.0.1 forget-node-10.0.0.12'],
  );
  syntax([...del, ...dn]);
});

test('reset: k0s stop and reset, then what reset leaves: services, mounts, links, rules, /etc/k0s, names', () => {
  const ctx = k0sCtx(1, 1);
  const reset = k0sRuntime.reset(ctx, ctx.nodes[0]!);
  const text = allText(reset);
  const order = [
    '/usr/local/bin/k0s stop',
    '/usr/local/bin/k0s reset',
    'k0scontroller',
    'k0sworker',
    'umount',
    'ip link delete kube-bridge',
    'iptables-save',
    'rm -rf /etc/k0s /var/lib/k0s /run/k0s /usr/libexec/k0s',
    '/etc/berth/k0s-created',
    'apiserver.cluster.local',
  ].map((s) => {
    const at = text.indexOf(s);
    assert.ok(at >= 0, `reset does ${s}`);
    return at;
  });
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'in that order',
  );
  syntax([reset]);
});

test('upgrade: one step named by the target version; stop, the new binary (and config), start, wait', () => {
  const ctx = { ...k0sCtx(2, 1), kubeVersion: parseKubeVersion('v1.30.2+k0s.0') };
  const from = parseKubeVersion('v1.29.4+k0s.0');
  const [c] = k0sRuntime.upgrade?.(ctx, ctx.masters[1]!, from) ?? [];
  assert.equal(c?.id, 'upgrade-v1.30.2+k0s.0');
  assert.equal(c?.host, '10.0.0.2');
  const text = allText(c!);
  const at = (s: string) => text.indexOf(s);
  assert.ok(at('k0s stop') < at('install -m 0755') && at('install -m 0755') < at('k0s start'));
  assert.ok(c?.files?.some((f) => f.path === '/etc/k0s/k0s.yaml.new'));
  assert.match(text, /until probe 10\.0\.0\.2 6443/);
  const [w] = k0sRuntime.upgrade?.(ctx, ctx.nodes[0]!, from) ?? [];
  assert.deepEqual(w?.files, []);
  assert.match(allText(w!), /until \/usr\/local\/bin\/k0s status/);
  syntax([c!, w!]);
});

test('kubeconfig: k0s kubeconfig admin of the first controller, pointed at it', () => {
  const ctx = k0sCtx(2, 0);
  const k = k0sRuntime.kubeconfig(ctx);
  assert.equal(k.remotePath, '/var/lib/k0s/berth-admin.conf');
  const admin = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://10.0.0.1:6443
  name: local
contexts: []
kind: Config
`;
  assert.equal(parse(k.rewrite(admin)).clusters[0].cluster.server, 'https://10.0.0.1:6443');
  assert.throws(() => k.rewrite('kind: Config\n'), /k0s kubeconfig admin on 10\.0\.0\.1 names no cluster/);
});

test("reset puts back the account files k0s's users changed, unless something else changed them", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-k0s-accounts-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const at = (command: string) => command.replaceAll('/etc/', `${root}/etc/`);
  const ctx = k0sCtx(1, 0);
  const save = (k0sRuntime.init(ctx)[0]?.commands ?? []).find((c) => c.includes('k0s-accounts'));
  const worker = k0sCtx(1, 1);
  assert.ok(
    k0sRuntime.joinNodes(worker, worker.nodes)[1]?.commands?.[0]?.includes(save ?? '-'),
    'k0s reset deletes the accounts on a worker too, so a worker saves them as well',
  );
  const restore = (k0sRuntime.reset(ctx, ctx.masters[0]!).commands ?? []).find((c) =>
    c.includes('k0s-accounts'),
  );
  assert.ok(save && restore);
  const etc = join(root, 'etc');
  const passwd =
    'root:x:0:0::/root:/bin/sh\netcd:x:100:101::/var/lib/etcd:/usr/sbin/nologin\nbin:x:2:2::/bin:/usr/sbin/nologin\n';
  const write = (files: Record<string, string>) => {
    mkdirSync(etc, { recursive: true });
    for (const [f, c] of Object.entries(files)) writeFileSync(join(etc, f), c);
  };
  const original = {
    passwd,
    'passwd-': 'root:x:0:0::/root:/bin/sh\n',
    group: 'root:x:0:\netcd:x:101:\n',
    shadow: 'root:*::\netcd:*::\n',
    gshadow: 'root:*::\n',
  };
  write(original);
  sh(at(save));
  // k0s install adds its accounts, k0s reset deletes them all (the etcd that was there too), userdel keeps backups
  write({
    passwd: 'root:x:0:0::/root:/bin/sh\nbin:x:2:2::/bin:/usr/sbin/nologin\n',
    'passwd-': passwd,
    group: 'root:x:0:\n',
    shadow: 'root:*::\n',
  });
  sh(at(restore));
  for (const [f, c] of Object.entries(original))
    assert.equal(readFileSync(join(etc, f), 'utf8'), c, `/etc/${f} as before`);
  assert.equal(sh(`[ -e ${root}/etc/berth/k0s-accounts ] && echo kept || echo gone`).trim(), 'gone');

  sh(at(save));
  write({ passwd: `${passwd}alice:x:1000:1000::/home/alice:/bin/sh\n` });
  const said = sh(at(restore));
  assert.match(said, /\/etc\/passwd changed since k0s was installed/);
  assert.match(readFileSync(join(etc, 'passwd'), 'utf8'), /alice/, 'a change of someone else is kept');
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { runPhases } from '../../src/apply/engine.js';
import { Journal } from '../../src/apply/journal.js';
import type { HostRunner } from '../../src/apply/phase.js';
import { initFirstMaster, joinMasters, joinNodes } from '../../src/apply/phases/distribution.js';
import type { PlannedCluster } from '../../src/apply/planned-cluster.js';
import type { FileSpec, HostAction } from '../../src/host/action.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { kubeadmRuntime } from '../../src/runtime/kubeadm/driver.js';
import { outputRefs } from '../../src/runtime/step-output.js';
import type { ClusterHost, HostStep } from '../../src/runtime/types.js';
import { kubeadmCtx } from '../helpers/kubeadm-context.js';
import { shSyntax } from '../helpers/run-local.js';
import { testDir } from '../helpers/test-dir.js';

function file(a: HostAction, path: string): FileSpec {
  const f = a.files?.find((x) => x.path === path);
  assert.ok(f, `${path} is written`);
  return f;
}

const text = (a: HostAction) => (a.commands ?? []).join('\n');
const ids = (steps: HostStep[]) => steps.map((s) => `${s.host} ${s.id}`);

function validShell(steps: HostAction[]): void {
  for (const s of steps) for (const c of s.commands ?? []) shSyntax(c);
}

test('1 master + 2 workers: checks and init on master0, then the token and the workers through the balancer', async () => {
  const ctx = await kubeadmCtx(1, 2);
  const init = kubeadmRuntime.init(ctx);
  assert.deepEqual(ids(init), ['10.0.0.1 kubeadm-checks', '10.0.0.1 init']);
  const step = init[1] as HostStep;
  const all = text(step);
  assert.match(
    all,
    /kubeadm init --config \/etc\/kubernetes\/kubeadm-init.yaml --skip-phases=certs,kubeconfig\/admin,kubeconfig\/super-admin,kubeconfig\/controller-manager,kubeconfig\/scheduler,show-join-command --skip-token-print/,
  );
  assert.match(all, /printf '%s %s # berth\\n' 10.0.0.1 apiserver.cluster.local/);
  assert.match(all, /install -m 0755 \/var\/lib\/berth\/c1\/rootfs\/bin\/kubeadm \/usr\/bin\/kubeadm.new/);
  // berth's certificates and kubeconfigs, staged then put in place before kubeadm runs
  const staged = '/var/lib/berth/c1/kubeadm-upload';
  assert.equal(file(step, `${staged}/pki/ca.key`).mode, 0o600);
  assert.equal(file(step, `${staged}/pki/ca.crt`).content, ctx.state.cas.ca.cert);
  assert.equal(file(step, `${staged}/admin.conf`).mode, 0o600);
  const fresh = all.slice(all.indexOf('\nelse\n'));
  const initAt = fresh.indexOf('/usr/bin/kubeadm init --config');
  assert.ok(fresh.indexOf('cp -a') < initAt, 'pki in place before kubeadm init');
  assert.ok(fresh.indexOf('supervise') < initAt, 'the kubelet runs before kubeadm init');
  assert.ok(fresh.indexOf('kubeadm reset -f') < fresh.indexOf('cp -a'), 'leftovers reset before the upload');
  assert.match(file(step, '/etc/kubernetes/kubeadm-init.yaml').content, new RegExp(ctx.state.bootstrapToken));
  assert.match(
    all,
    /exec \/usr\/bin\/kubelet --bootstrap-kubeconfig=\/etc\/kubernetes\/bootstrap-kubelet.conf/,
  );
  assert.match(
    all,
    /systemctl cat kubelet.service/,
    "the image's kubelet unit is used when it installed one",
  );
  assert.ok(
    !step.files?.some((f) => f.path.startsWith('/etc/berth/services/')),
    'service files only where used',
  );
  assert.deepEqual(step.inputs, { init: '10.0.0.1' });
  assert.equal(kubeadmRuntime.joinMasters(ctx, []).length, 0, 'one master: nothing to join');

  const joins = kubeadmRuntime.joinNodes(ctx, ctx.nodes);
  assert.deepEqual(ids(joins), [
    '10.0.0.1 bootstrap-token',
    '10.0.0.11 kubeadm-checks',
    '10.0.0.11 join',
    '10.0.0.12 kubeadm-checks',
    '10.0.0.12 join',
  ]);
  const w = joins[2] as HostStep;
  assert.match(
    file(w, '/etc/berth/apiserver-lb.conf').content,
    /vip 10.103.97.2\nport 6443\nnode-ip 10.0.0.11\nmaster 10.0.0.1\n$/,
  );
  assert.match(text(w), /printf '%s %s # berth\\n' 10.103.97.2 apiserver.cluster.local/);
  const join = file(w, '/etc/kubernetes/kubeadm-join.yaml').content;
  const refs = outputRefs(join);
  assert.ok(refs.length > 0, 'the token comes from the bootstrap-token step');
  for (const r of refs) assert.deepEqual(r, { host: '10.0.0.1', step: 'bootstrap-token', name: 'token' });
  const hash = /sha256:[0-9a-f]{64}/.exec(join)?.[0];
  assert.ok(hash, 'the discovery hash of the CA berth made');
  assert.ok(!w.files?.some((f) => f.path.includes('/pki/')), 'no certificate is sent to a worker');
  assert.deepEqual(
    w.inputs,
    { joinWorker: '10.0.0.11' },
    'the token and masters leave a joined worker alone',
  );
  assert.ok(text(w).indexOf('apiserver-lb') < text(w).indexOf('kubeadm join'), 'balancer first');
  validShell([...init, ...joins]);
});

test('3 masters + 2 workers: control-plane joins one at a time through master0, with their own files', async () => {
  const ctx = await kubeadmCtx(3, 2);
  const steps = kubeadmRuntime.joinMasters(ctx, ctx.masters.slice(1));
  assert.deepEqual(ids(steps), [
    '10.0.0.1 bootstrap-token',
    '10.0.0.2 kubeadm-checks',
    '10.0.0.2 join',
    '10.0.0.3 kubeadm-checks',
    '10.0.0.3 join',
  ]);
  const m1 = steps[2] as HostStep;
  const cmds = m1.commands ?? [];
  const toM0 = cmds.findIndex((c) => c.includes('10.0.0.1 apiserver.cluster.local'));
  const join = cmds.findIndex((c) => c.includes('kubeadm join --config'));
  const toSelf = cmds.findIndex((c) => c.includes('10.0.0.2 apiserver.cluster.local'));
  assert.ok(toM0 >= 0 && toM0 < join && join < toSelf, 'the name is master0 during the join, itself after');
  const staged = '/var/lib/berth/c1/kubeadm-upload';
  assert.equal(
    file(m1, `${staged}/pki/apiserver.crt`).content,
    ctx.state.masters['10.0.0.2']?.pki['apiserver.crt'],
  );
  assert.notEqual(
    file(m1, `${staged}/pki/apiserver.crt`).content,
    ctx.state.masters['10.0.0.1']?.pki['apiserver.crt'],
    'each master gets its own leaves',
  );
  assert.equal(file(m1, `${staged}/pki/etcd/ca.key`).content, ctx.state.cas.etcdCa.key, 'the shared CAs');
  assert.ok(
    !m1.files?.some((f) => f.path.endsWith('/super-admin.conf')),
    'super-admin.conf is for init only',
  );
  assert.ok(kubeadmRuntime.init(ctx)[1]?.files?.some((f) => f.path === `${staged}/super-admin.conf`));
  assert.match(file(m1, `${staged}/scheduler.conf`).content, /server: https:\/\/10.0.0.2:6443/);
  const cfg = parse(file(m1, '/etc/kubernetes/kubeadm-join.yaml').content);
  assert.ok(cfg.controlPlane, 'a control-plane join');
  assert.equal(cfg.discovery.bootstrapToken.apiServerEndpoint, 'apiserver.cluster.local:6443');
  const workers = kubeadmRuntime.joinNodes(ctx, ctx.nodes);
  assert.match(
    file(workers[2] as HostStep, '/etc/berth/apiserver-lb.conf').content,
    /master 10.0.0.1\nmaster 10.0.0.2\nmaster 10.0.0.3\n$/,
    'workers balance over every master',
  );
  validShell([...steps, ...workers]);
});

/** A runner that runs nothing: it records the hosts and the kind of step, and answers the token output. */
function recordingRunner(ran: string[]): HostRunner {
  return {
    async run(host, script, onLine) {
      const kind = script.includes('kubeadm init --config')
        ? 'init'
        : script.includes('kubeadm join --config')
          ? 'join'
          : script.includes('bootstrap-token-')
            ? 'token'
            : 'checks';
      ran.push(`${host} ${kind}`);
      if (kind === 'token')
        onLine(`berth-output token ${Buffer.from('abcdef.0123456789abcdef').toString('base64')}`);
    },
    async copy() {
      return { failed: new Map(), bytesSent: 0 };
    },
    async fetch() {
      return '';
    },
  };
}

test('the engine runs init, then each master join after the one before, then the workers after the token', async (t) => {
  const ctx = await kubeadmCtx(3, 2);
  const root = testDir(t, 'berth-kubeadm-');
  const journal = await Journal.open(join(root, 'journal.jsonl'));
  const ran: string[] = [];
  const cluster = { runtime: kubeadmRuntime, runtimeCtx: ctx } as unknown as PlannedCluster;
  await runPhases([initFirstMaster, joinMasters, joinNodes], cluster, {
    journal,
    runner: recordingRunner(ran),
    options: {},
  });
  assert.deepEqual(ran.slice(0, 7), [
    '10.0.0.1 checks',
    '10.0.0.1 init',
    '10.0.0.1 token',
    '10.0.0.2 checks',
    '10.0.0.2 join',
    '10.0.0.3 checks',
    '10.0.0.3 join',
  ]);
  assert.equal(ran[7], '10.0.0.1 token', 'the workers ask master0 for the token first');
  assert.deepEqual(
    new Set(ran.slice(8)),
    new Set(['10.0.0.11 checks', '10.0.0.11 join', '10.0.0.12 checks', '10.0.0.12 join']),
  );
  ran.length = 0;
  await runPhases([initFirstMaster, joinMasters, joinNodes], cluster, {
    journal,
    runner: recordingRunner(ran),
    options: {},
  });
  assert.deepEqual(ran, [], 'a joined cluster asks for no token and runs nothing again');
  const added = await kubeadmCtx(3, 3);
  await runPhases(
    [initFirstMaster, joinMasters, joinNodes],
    { runtime: kubeadmRuntime, runtimeCtx: added } as unknown as PlannedCluster,
    {
      journal,
      runner: recordingRunner(ran),
      options: {},
    },
  );
  assert.deepEqual(
    new Set(ran),
    new Set(['10.0.0.13 checks', '10.0.0.1 token', '10.0.0.13 join']),
    'only the new worker',
  );
});

test("removing a master's etcd member waits out etcd's 'unhealthy cluster' while a member just came back, and no other error", async (t) => {
  const before = await kubeadmCtx(3, 2);
  const gone = before.masters[1] as ClusterHost;
  const after = { ...before, masters: before.masters.filter((m) => m.ip !== gone.ip) };
  const step = kubeadmRuntime
    .deleteMasters(after, [gone])
    .find((s) => s.id === `remove-etcd-member-${gone.ip}`) as HostStep;
  const bin = testDir(t, 'berth-etcdctl-');
  // etcdctl as berth calls it: `member list` names the departing member, `member remove` fails $FAILS times
  writeFileSync(
    join(bin, 'etcdctl'),
    `#!/bin/sh
for a in "$@"; do case "$a" in
list) echo "8e9e05c52164694d, started, m1, https://${gone.ip}:2380, https://${gone.ip}:2379, false"; exit 0 ;;
remove) n=$(($(cat "$COUNT" 2>/dev/null || echo 0) + 1)); echo $n > "$COUNT"
  if [ $n -le "$FAILS" ]; then echo "Error: etcdserver: $REASON" >&2; exit 1; fi
  echo "Member 8e9e05c52164694d removed from cluster"; exit 0 ;;
esac; done`,
    { mode: 0o755 },
  );
  const run = (fails: number, reason: string) => {
    const count = join(bin, `count-${fails}`);
    const r = spawnSync('sh', ['-e', '-c', text(step)], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        COUNT: count,
        FAILS: String(fails),
        REASON: reason,
      },
    });
    return { status: r.status, out: r.stdout + r.stderr, calls: Number(readFileSync(count, 'utf8')) };
  };
  const waited = run(2, 'unhealthy cluster');
  assert.equal(waited.status, 0, waited.out);
  assert.equal(waited.calls, 3);
  assert.match(waited.out, /removed from cluster/);
  const refused = run(1, 'permission denied');
  assert.equal(refused.status, 1);
  assert.equal(refused.calls, 1, 'another error is not tried again');
  assert.match(refused.out, /permission denied/);
});

test('deleting a master: Node and etcd member removed through a remaining master, the Node again after the reset, balancers name the rest', async () => {
  const before = await kubeadmCtx(3, 2);
  const gone = before.masters[1] as ClusterHost;
  const after = { ...before, masters: before.masters.filter((m) => m.ip !== gone.ip) };
  const steps = kubeadmRuntime.deleteMasters(after, [gone]);
  assert.deepEqual(ids(steps), [
    '10.0.0.1 remove-node-10.0.0.2',
    '10.0.0.1 remove-etcd-member-10.0.0.2',
    '10.0.0.2 reset',
    '10.0.0.1 forget-node-10.0.0.2',
  ]);
  assert.ok(steps.every((s) => s.always));
  assert.match(
    text(steps[0] as HostStep),
    /kubectl --kubeconfig \/etc\/kubernetes\/admin.conf --cache-dir \/var\/lib\/berth\/c1\/kube-cache drain "\$name"/,
  );
  assert.match(text(steps[0] as HostStep), /name=m1;/);
  const etcd = text(steps[1] as HostStep);
  assert.match(etcd, /--cert=\/etc\/kubernetes\/pki\/etcd\/healthcheck-client.crt/);
  assert.match(etcd, /-v u=https:\/\/10.0.0.2:2380/);
  assert.match(etcd, /member remove "\$id"/);
  assert.match(text(steps[2] as HostStep), /kubeadm reset -f/);
  // the departing kubelet registers its Node again until the reset stops it
  assert.match(text(steps[3] as HostStep), /name=m1; .* delete node "\$name" --ignore-not-found/);
  for (const node of after.nodes) {
    const conf = file(kubeadmRuntime.nodeBalancingSync(after, node), '/etc/berth/apiserver-lb.conf').content;
    assert.match(conf, /master 10.0.0.1\nmaster 10.0.0.3\n$/);
    assert.doesNotMatch(conf, /10.0.0.2/);
  }
  const workers = kubeadmRuntime.deleteNodes(after, [after.nodes[0] as ClusterHost]);
  assert.deepEqual(ids(workers), [
    '10.0.0.1 remove-node-10.0.0.11',
    '10.0.0.11 reset',
    '10.0.0.1 forget-node-10.0.0.11',
  ]);
  assert.doesNotMatch(text(workers[0] as HostStep), /etcdctl/);
  assert.throws(() => kubeadmRuntime.deleteMasters({ ...before, masters: [] }, [gone]), /leaves no cluster/);
  validShell([...steps, ...workers]);
});

test('reset removes what kubeadm, the kubelet, CNI and berth left, unmounting first', async () => {
  const ctx = await kubeadmCtx(1, 1);
  assert.deepEqual(kubeadmRuntime.defaults.resetPaths, [
    '/etc/kubernetes',
    '/var/lib/kubelet',
    '/var/lib/etcd',
    '/etc/cni',
    '/etc/cni/net.d',
    '/opt/cni',
    '/var/lib/cni',
    '/run/flannel',
    '/var/run/kubernetes',
    '/var/log/pods',
    '/var/log/containers',
  ]);
  const reset = kubeadmRuntime.reset(ctx, ctx.masters[0] as ClusterHost);
  const all = text(reset);
  for (const want of [
    '/usr/bin/kubeadm reset -f',
    'rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/etcd/member',
    "grep -E '^(/var/lib/kubelet|/run/netns/cni-)'",
    'for l in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6 kube-ipvs0',
    'grep -v KUBE- | grep -v CNI- | grep -iv flannel',
    'ipvsadm --clear',
    'BERTH-APISERVER',
    '/etc/berth/kubeadm-created',
    '/etc/systemd/system/kubelet.service',
  ]) {
    assert.ok(all.includes(want), `reset does: ${want}`);
  }
  assert.ok(all.indexOf('kubeadm reset -f') < all.indexOf('umount'), 'kubeadm reset first');
  assert.ok(all.indexOf('umount') < all.indexOf('rm -rf /etc/kubernetes'), 'unmount before removing');
  validShell([reset]);
});

test('no secret appears in step text without being in its secrets, and none in commands', async () => {
  const ctx = await kubeadmCtx(3, 2);
  const secretValues = [
    ctx.state.bootstrapToken,
    ctx.state.bootstrapToken.split('.')[1] as string,
    ctx.registry.password,
    ctx.state.cas.ca.key,
    ctx.state.cas.etcdCa.key,
    ctx.state.cas.frontProxyCa.key,
    ctx.state.cas.sa.privateKey,
    ...Object.values(ctx.state.masters).flatMap((m) => [
      ...Object.entries(m.pki)
        .filter(([k]) => k.endsWith('.key'))
        .map(([, v]) => v),
      ...Object.values(m.kubeconfigs),
    ]),
  ];
  const steps: HostStep[] = [
    ...kubeadmRuntime.init(ctx),
    ...kubeadmRuntime.joinMasters(ctx, ctx.masters.slice(1)),
    ...kubeadmRuntime.joinNodes(ctx, ctx.nodes),
    ...kubeadmRuntime.deleteMasters({ ...ctx, masters: ctx.masters.slice(0, 2) }, [
      ctx.masters[2] as ClusterHost,
    ]),
  ];
  let seen = 0;
  for (const s of steps) {
    const fileText = (s.files ?? []).map((f) => f.content).join('\n');
    for (const v of secretValues) {
      assert.ok(!(s.commands ?? []).some((c) => c.includes(v)), `${s.host} ${s.id}: no secret in commands`);
      assert.ok(!s.description.includes(v));
      if (fileText.includes(v)) {
        seen++;
        assert.ok(s.secrets?.includes(v), `${s.host} ${s.id}: a secret it writes is masked`);
      }
    }
  }
  assert.ok(seen > 10, 'the steps do carry secrets');
  assert.ok(
    steps.find((s) => s.id === 'init')?.secrets?.some((v) => /^[A-Za-z0-9+/=]{40,}$/.test(v)),
    'the one-line client key inside a kubeconfig is masked too',
  );
});

test('runtimeFor: no distribution label or kubeadm is kubeadm', async () => {
  assert.equal(runtimeFor({}).name, 'kubeadm');
  assert.equal(runtimeFor({ 'apps.sealos.io/distribution': 'kubeadm' }).name, 'kubeadm');
  assert.equal(runtimeFor({ 'sealos.io.distribution': 'k3s' }).name, 'k3s');
  assert.equal(runtimeFor({ 'sealos.io.distribution': 'k0s' }).name, 'k0s');
});

test('kubeconfig: admin.conf pointed at the first master', async () => {
  const ctx = await kubeadmCtx(1, 0);
  const k = kubeadmRuntime.kubeconfig(ctx);
  assert.equal(k.remotePath, '/etc/kubernetes/admin.conf');
  const out = parse(
    k.rewrite(
      'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    server: https://apiserver.cluster.local:6443\n  name: kubernetes\nkind: Config\n',
    ),
  );
  assert.equal(out.clusters[0].cluster.server, 'https://10.0.0.1:6443');
  assert.throws(() => k.rewrite('kind: Config\n'), /admin.conf on 10.0.0.1 names no cluster/);
});

test('a joined master leaves the mark a finished init leaves: as the first master after a delete it is not initialised again', async () => {
  const ctx = await kubeadmCtx(3, 0);
  const mark = /\/var\/lib\/berth\/c1\/kubeadm-control-plane-done/;
  const join = kubeadmRuntime.joinMasters(ctx, ctx.masters.slice(1)).find((s) => s.id === 'join') as HostStep;
  assert.match(text(join), new RegExp(`: > '?${mark.source}`));
  // the cluster with its first master gone: the next one is planned as master0 and skips init by the mark
  const after = { ...ctx, masters: ctx.masters.slice(1) };
  const init = kubeadmRuntime.init(after).find((s) => s.id === 'init') as HostStep;
  assert.equal(init.host, '10.0.0.2');
  assert.match(text(init), new RegExp(`\\[ -f '?${mark.source}'? \\] && .*readyz`));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { HostAction } from '../../src/host/action.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { k3sConfigYaml } from '../../src/runtime/k3s/config.js';
import { type K3sState, k3sRuntime } from '../../src/runtime/k3s/driver.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import type { RuntimeContext } from '../../src/runtime/types.js';
import { InputError } from '../../src/util/errors.js';
import { shSyntax } from '../helpers/run-local.js';

function ctx(over: Partial<RuntimeContext<K3sState>> = {}): RuntimeContext<K3sState> {
  return {
    clusterName: 'c1',
    rootfsDir: '/var/lib/berth/c1/rootfs',
    env: {},
    masters: [
      { ip: '10.0.0.1', hostname: 'm0', roles: ['master'] },
      { ip: '10.0.0.2', hostname: 'm1', roles: ['master'] },
    ],
    nodes: [{ ip: '10.0.0.5', roles: ['node'] }],
    registry: {
      domain: 'sealos.hub',
      port: 5000,
      hostIp: '10.0.0.1',
      username: 'admin',
      password: 'reg-s3cret',
    },
    vip: '10.103.97.2',
    apiServerDomain: 'apiserver.cluster.local',
    apiPort: 6443,
    distributionConfig: [
      {
        kind: 'K3sConfig',
        apiVersion: 'apps.berth.io/v1alpha1',
        distribution: 'k3s',
        object: {
          apiVersion: 'apps.berth.io/v1alpha1',
          kind: 'K3sConfig',
          spec: {
            server: {
              'cluster-cidr': '10.50.0.0/16',
              'tls-san': ['extra.example'],
              'kubelet-arg': ['max-pods=50'],
            },
            agent: { 'kubelet-arg': ['max-pods=50'] },
          },
        },
        file: 'Clusterfile',
        line: 20,
      },
    ],
    imageDefaultConfig:
      'cluster-cidr: 10.42.0.0/16\nwrite-kubeconfig-mode: "0644"\ndisable: [traefik]\nnot-a-flag: 1\n',
    state: { token: 'srv-token-123', agentToken: 'agent-token-456' },
    ...over,
  };
}

function file(a: HostAction, path: string): string {
  const f = a.files?.find((x) => x.path === path);
  assert.ok(f, `${path} is written`);
  return f.content;
}

function noSecretInCommands(a: HostAction): void {
  for (const c of a.commands ?? [])
    for (const s of a.secrets ?? []) assert.ok(!c.includes(s), 'no secret in commands');
}

test('config.yaml merge: image defaults < Clusterfile < berth keys; only v1.28 keys; role filter', () => {
  const server = parse(
    k3sConfigYaml({
      role: 'server',
      imageDefaultConfig: ctx().imageDefaultConfig,
      distributionConfig: [
        { 'cluster-cidr': '10.50.0.0/16', 'tls-san': ['extra.example'], 'kubelet-arg': ['max-pods=50'] },
      ],
      required: {
        token: 't',
        'tls-san': ['apiserver.cluster.local'],
        'write-kubeconfig-mode': '0600',
        server: undefined,
      },
    }),
  );
  assert.deepEqual(server, {
    'cluster-cidr': '10.50.0.0/16',
    'write-kubeconfig-mode': '0600',
    disable: ['traefik'],
    'tls-san': ['apiserver.cluster.local', 'extra.example'],
    'kubelet-arg': ['max-pods=50'],
    token: 't',
  });
  const agent = parse(
    k3sConfigYaml({
      role: 'agent',
      imageDefaultConfig: ctx().imageDefaultConfig,
      distributionConfig: [
        { apiVersion: 'x', kind: 'K3sConfig', 'node-label+': ['a=b'], 'cluster-cidr': '1.0.0.0/8' },
      ],
      required: { token: 't', server: 'https://apiserver.cluster.local:6443' },
    }),
  );
  assert.deepEqual(agent, {
    'node-label+': ['a=b'],
    token: 't',
    server: 'https://apiserver.cluster.local:6443',
  });
  assert.throws(
    () => k3sConfigYaml({ role: 'server', distributionConfig: [{ 'kublet-arg': ['x'] }], required: {} }),
    (e: unknown) => e instanceof InputError && /"kublet-arg" is not a k3s v1.28 option/.test(e.message),
  );
  assert.throws(
    () =>
      k3sConfigYaml({ role: 'server', imageDefaultConfig: '- a\n', distributionConfig: [], required: {} }),
    InputError,
  );
});

test('init: first server with cluster-init, token, SANs, registries and the k3s service', () => {
  const [step] = k3sRuntime.init(ctx());
  assert.equal(step.host, '10.0.0.1');
  const cfg = parse(file(step, '/etc/rancher/k3s/config.yaml'));
  assert.equal(cfg['cluster-init'], true);
  assert.equal(cfg.server, undefined);
  assert.equal(cfg.token, 'srv-token-123');
  assert.equal(cfg['agent-token'], 'agent-token-456');
  assert.equal(cfg['node-ip'], '10.0.0.1');
  assert.equal(cfg['node-name'], 'm0');
  assert.equal(cfg['write-kubeconfig-mode'], '0600');
  assert.deepEqual(cfg['tls-san'], [
    'apiserver.cluster.local',
    '10.103.97.2',
    '10.0.0.1',
    '10.0.0.2',
    'extra.example',
  ]);
  assert.equal(step.files?.find((f) => f.path === '/etc/rancher/k3s/config.yaml')?.mode, 0o600);
  const reg = parse(file(step, '/etc/rancher/k3s/registries.yaml'));
  assert.deepEqual(reg.mirrors['registry.k8s.io'], { endpoint: ['http://sealos.hub:5000'] });
  assert.match(file(step, '/etc/berth/services/k3s.run.new'), /exec \/usr\/local\/bin\/k3s server/);
  const all = (step.commands ?? []).join('\n');
  assert.match(all, /install -m 0755 \/var\/lib\/berth\/c1\/rootfs\/bin\/k3s \/usr\/local\/bin\/k3s.new/);
  assert.match(all, /ln -s k3s \/usr\/local\/bin\/kubectl/);
  assert.match(all, /printf '%s %s # berth\\n' 10.0.0.1 sealos.hub/);
  assert.ok(step.secrets?.includes('srv-token-123') && step.secrets.includes('reg-s3cret'));
  noSecretInCommands(step);
  for (const c of step.commands ?? []) shSyntax(c);
});

test('joinMasters: through apiserver.cluster.local at master0, then at itself', () => {
  const steps = k3sRuntime.joinMasters(ctx(), [ctx().masters[1]]);
  assert.equal(steps.length, 1);
  const cfg = parse(file(steps[0], '/etc/rancher/k3s/config.yaml'));
  assert.equal(cfg.server, 'https://apiserver.cluster.local:6443');
  assert.equal(cfg['cluster-init'], undefined);
  assert.equal(cfg['node-ip'], '10.0.0.2');
  const cmds = steps[0].commands ?? [];
  const toM0 = cmds.findIndex((c) => c.includes('10.0.0.1 apiserver.cluster.local'));
  const toSelf = cmds.findIndex((c) => c.includes('10.0.0.2 apiserver.cluster.local'));
  const start = cmds.findIndex((c) => c.includes('supervise') && c.includes('start'));
  assert.ok(toM0 >= 0 && toM0 < start && start < toSelf, 'hosts at master0 during the join, itself after');
  noSecretInCommands(steps[0]);
});

test('joinNodes: agents with the agent token through the VIP balancer, no server-only keys', () => {
  const [step] = k3sRuntime.joinNodes(ctx(), ctx().nodes);
  const cfg = parse(file(step, '/etc/rancher/k3s/config.yaml'));
  assert.deepEqual(cfg, {
    'kubelet-arg': ['max-pods=50'],
    token: 'agent-token-456',
    server: 'https://apiserver.cluster.local:6443',
    'node-ip': '10.0.0.5',
  });
  assert.match(
    file(step, '/etc/berth/apiserver-lb.conf'),
    /vip 10.103.97.2\nport 6443\nnode-ip 10.0.0.5\nmaster 10.0.0.1\nmaster 10.0.0.2\n/,
  );
  assert.match(file(step, '/etc/berth/services/k3s-agent.run.new'), /exec \/usr\/local\/bin\/k3s agent/);
  assert.ok((step.commands ?? []).some((c) => c.includes('10.103.97.2 apiserver.cluster.local')));
  const noAgentToken = parse(
    file(
      k3sRuntime.joinNodes(ctx({ state: { token: 'only' } }), ctx().nodes)[0],
      '/etc/rancher/k3s/config.yaml',
    ),
  );
  assert.equal(noAgentToken.token, 'only');
});

test('kubeconfig is rewritten to master0; balancer sync', () => {
  const k = k3sRuntime.kubeconfig(ctx());
  assert.equal(k.remotePath, '/etc/rancher/k3s/k3s.yaml');
  const src =
    'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    server: https://127.0.0.1:6443\n  name: default\nkind: Config\n';
  const out = parse(k.rewrite(src));
  assert.equal(out.clusters[0].cluster.server, 'https://10.0.0.1:6443');
  assert.equal(out.clusters[0].cluster['certificate-authority-data'], 'QUJD');
  assert.throws(() => k.rewrite('kind: Config\n'), InputError);
  const sync = k3sRuntime.nodeBalancingSync(ctx(), ctx().nodes[0]);
  assert.match(file(sync, '/etc/berth/apiserver-lb.conf'), /master 10.0.0.2/);
});

test('delete and reset produce valid shell that undoes everything', () => {
  const del = k3sRuntime.deleteMasters(ctx(), [ctx().masters[0]]);
  assert.equal(del[0].host, '10.0.0.2', 'removal runs on a remaining master');
  assert.match(
    del[0].commands?.[0] ?? '',
    /kubectl --cache-dir \/var\/lib\/berth\/c1\/kube-cache delete node "\$name"/,
  );
  assert.equal(del[1].host, '10.0.0.1');
  // the departing kubelet registers its Node again until the reset stops it
  assert.deepEqual(
    del.map((s) => `${s.host} ${s.id}`),
    ['10.0.0.2 remove-node-10.0.0.1', '10.0.0.1 reset', '10.0.0.2 forget-node-10.0.0.1'],
  );
  const dn = k3sRuntime.deleteNodes(ctx(), ctx().nodes);
  assert.deepEqual(
    dn.slice(0, 3).map((s) => s.id),
    [`remove-node-${ctx().nodes[0]?.ip}`, 'reset', `forget-node-${ctx().nodes[0]?.ip}`],
  );
  assert.match(dn[0].commands?.[0] ?? '', /InternalIP/);
  const reset = k3sRuntime.reset(ctx(), ctx().masters[0]);
  const text = (reset.commands ?? []).join('\n');
  for (const want of [
    'rm -rf /etc/rancher /var/lib/rancher /var/lib/kubelet /run/k3s /run/flannel /var/lib/cni',
    'flannel.1',
    'cni0',
    'grep -v KUBE- | grep -v CNI- | grep -iv flannel',
    'BERTH-APISERVER',
    '/etc/berth/k3s-created',
    'umount',
  ]) {
    assert.ok(text.includes(want), `reset does: ${want}`);
  }
  assert.ok(text.indexOf('umount') < text.indexOf('rm -rf /etc/rancher'), 'unmount before removing');
  for (const s of [...del, ...dn, reset]) for (const c of s.commands ?? []) shSyntax(c);
});

test('runtimeFor picks by distribution label', () => {
  assert.equal(runtimeFor({ 'apps.sealos.io/distribution': 'k3s' }).name, 'k3s');
  assert.equal(runtimeFor({ 'sealos.io.distribution': 'K3S' }).name, 'k3s');
  assert.equal(runtimeFor({}).name, 'kubeadm', 'no distribution label is kubeadm');
  assert.equal(runtimeFor({ 'sealos.io.distribution': 'k0s' }).name, 'k0s');
  assert.throws(() => runtimeFor({ 'sealos.io.distribution': 'rke2' }), /"rke2", which berth does not know/);
});

test('prepare makes the tokens once, keeps them, and refuses a Kubernetes older than k3s v1.21', async () => {
  const { state: _, ...base } = ctx();
  const first = await k3sRuntime.prepare(base, undefined);
  assert.match(first.token, /^[0-9a-f]{48}$/);
  assert.notEqual(first.agentToken, first.token);
  assert.deepEqual(await k3sRuntime.prepare(base, first), first);
  await assert.rejects(
    k3sRuntime.prepare({ ...base, kubeVersion: parseKubeVersion('v1.19.4+k3s1') }, undefined),
    (e: unknown) => e instanceof InputError && /v1.19.4\+k3s1 is older than k3s v1.21/.test(e.message),
  );
  assert.deepEqual(parseKubeVersion('v1.28.14+k3s1'), {
    text: 'v1.28.14+k3s1',
    major: 1,
    minor: 28,
    patch: 14,
    build: 'k3s1',
  });
  assert.throws(() => parseKubeVersion('latest', 'label version'), /label version: "latest" is not/);
  assert.deepEqual(k3sRuntime.defaults.configKinds, ['K3sConfig']);
});

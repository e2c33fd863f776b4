// Upgrades of a running cluster: which version changes are allowed (before any host is touched), the plan
// the engine makes (masters first, then nodes, one host at a time, ids naming the target version) and how
// a run cut short resumes; the kubeadm driver's upgrade steps, and the kubeadm stand-in's skew policy and
// upgrade flags.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runPhases } from '../../src/apply/engine.js';
import { Journal } from '../../src/apply/journal.js';
import type { HostRunner } from '../../src/apply/phase.js';
import { upgradeHosts } from '../../src/apply/phases/upgrade-hosts.js';
import type { PlannedCluster } from '../../src/apply/planned-cluster.js';
import { clusterWithRootfs } from '../../src/apply/upgrade-cluster.js';
import { appliedKubeVersion, versionChange } from '../../src/apply/version-change.js';
import type { LoadedClusterfile, ResolvedHost } from '../../src/clusterfile/index.js';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { kubeadmRuntime } from '../../src/runtime/kubeadm/driver.js';
import { exitCodeOf } from '../../src/util/errors.js';
import { kubeadmCtx } from '../helpers/kubeadm-context.js';
import { shSyntax } from '../helpers/run-local.js';
import { FlagError, parseFlags } from '../stand-ins/kubeadm/cobra-flags.js';
import { commandFlags } from '../stand-ins/kubeadm/command-flags.js';
import { upgradeSkewErrors } from '../stand-ins/kubeadm/upgrade-command.js';

const v = (t: string) => parseKubeVersion(t);

describe('version changes', () => {
  const withUpgrade = { name: 'kubeadm', upgrade: kubeadmRuntime.upgrade };
  test('one minor up or a patch is an upgrade; the same release is none', () => {
    assert.equal(versionChange(withUpgrade, 'v1.29.3', v('v1.29.3'), 'img'), undefined);
    assert.equal(versionChange(withUpgrade, undefined, v('v1.30.3'), 'img'), undefined, 'a new cluster');
    assert.equal(versionChange(withUpgrade, 'v1.29.3', v('v1.29.5'), 'img')?.to.patch, 5);
    assert.equal(versionChange(withUpgrade, 'v1.29.3', v('v1.30.0'), 'img')?.from.minor, 29);
  });
  test('a skipped minor, a downgrade and a driver without upgrade are one line each, exit 3', () => {
    const refused = (from: string, to: string, runtime = withUpgrade) => {
      try {
        versionChange(runtime, from, v(to), 'example/kubeadm:x');
      } catch (err) {
        assert.equal(exitCodeOf(err), 3);
        const message = (err as Error).message;
        assert.ok(!message.includes('\n'), message);
        assert.ok(message.startsWith('example/kubeadm:x: the cluster runs Kubernetes'), message);
        return message;
      }
      assert.fail(`${from} -> ${to} was allowed`);
    };
    assert.match(
      refused('v1.28.15', 'v1.30.3'),
      /one minor version at a time; apply an image of v1\.29 first/,
    );
    assert.match(refused('v1.30.3', 'v1.29.3'), /a downgrade is not supported/);
    assert.match(refused('v1.29.5', 'v1.29.3'), /a downgrade is not supported/);
    assert.match(
      refused('v1.29.3', 'v1.30.3', { name: 'k3s', upgrade: undefined }),
      /the k3s driver cannot upgrade/,
    );
  });
  test('the applied version comes from status.kubernetesVersion, else the rootfs mount', () => {
    const applied = (status: object): LoadedClusterfile =>
      ({ cluster: { status } }) as unknown as LoadedClusterfile;
    assert.equal(appliedKubeVersion(applied({ kubernetesVersion: 'v1.29.3' })), 'v1.29.3');
    assert.equal(
      appliedKubeVersion(
        applied({
          mounts: [
            { type: 'application', labels: { version: 'v9' } },
            { type: 'rootfs', labels: { version: 'v1.28.15' } },
          ],
        }),
      ),
      'v1.28.15',
    );
    assert.equal(appliedKubeVersion(undefined), undefined);
  });
  test('berth upgrade replaces the rootfs image in place', () => {
    const cluster = {
      spec: { image: ['example/kubeadm:v1.29.3', 'example/hello:1.0'] },
      status: { mounts: [{ type: 'rootfs', imageName: 'example/kubeadm:v1.29.3' }] },
    } as unknown as Parameters<typeof clusterWithRootfs>[0];
    assert.deepEqual(clusterWithRootfs(cluster, 'example/kubeadm:v1.30.3').spec.image, [
      'example/kubeadm:v1.30.3',
      'example/hello:1.0',
    ]);
  });
});

const resolved = (ip: string, role: 'master' | 'node'): ResolvedHost => ({
  ip,
  port: 22,
  roles: [role],
  env: {},
  ssh: { user: 'root' },
});

async function upgradingCluster(): Promise<PlannedCluster> {
  const ctx = await kubeadmCtx(2, 2);
  const runtimeCtx = { ...ctx, kubeVersion: v('v1.30.3') };
  const masters = ctx.masters.map((m) => resolved(m.ip, 'master'));
  const nodes = ctx.nodes.map((n) => resolved(n.ip, 'node'));
  return {
    name: 'c1',
    runtime: kubeadmRuntime,
    runtimeCtx,
    masters,
    nodes,
    hosts: [...masters, ...nodes],
    facts: new Map(),
    remoteDir: '/var/lib/berth/c1',
    // the second node joins in this apply: it is not upgraded
    upgrade: { from: v('v1.29.3'), to: v('v1.30.3'), hosts: [...masters, nodes[0]!] },
  } as unknown as PlannedCluster;
}

describe('the upgrade plan', () => {
  test('masters first in order, then nodes; drain, upgrade, uncordon, ready; ids name the version', async () => {
    const c = await upgradingCluster();
    const plan = await upgradeHosts.plan(c);
    assert.equal(plan.order, 'sequential');
    const m0 = c.masters[0]!.ip;
    assert.deepEqual(
      plan.steps.map((s) => `${s.host} ${s.id}`),
      ['10.0.0.1', '10.0.0.2', '10.0.0.11'].flatMap((ip) => [
        `${m0} drain-${ip}-v1.30.3`,
        `${ip} upgrade-v1.30.3`,
        `${m0} uncordon-${ip}-v1.30.3`,
        `${m0} ready-${ip}-v1.30.3`,
      ]),
    );
    for (const s of plan.steps) for (const cmd of s.commands ?? []) shSyntax(cmd);
    const drain = plan.steps[0]!.commands!.join('\n');
    assert.match(
      drain,
      /kubectl --kubeconfig \/etc\/kubernetes\/admin\.conf .* drain "\$node" --ignore-daemonsets/,
    );
    assert.deepEqual((await upgradeHosts.plan({ ...c, upgrade: undefined })).steps, []);
  });

  test('a run cut short resumes at the step it stopped in; a finished upgrade runs nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-upgrade-'));
    try {
      const c = await upgradingCluster();
      const journal = await Journal.open(join(root, 'journal.jsonl'));
      const total = (await upgradeHosts.plan(c)).steps.length;
      let ran = 0;
      let failAt = 6;
      const runner: HostRunner = {
        async run() {
          ran++;
          if (ran === failAt) throw new Error('killed');
        },
        async copy() {
          return { failed: new Map(), bytesSent: 0 };
        },
        async fetch() {
          return '';
        },
      };
      const engine = { journal, runner, options: {} };
      await assert.rejects(runPhases([upgradeHosts], c, engine), /killed/);
      assert.equal(ran, 6);
      ran = 0;
      failAt = -1;
      await runPhases([upgradeHosts], c, engine);
      assert.equal(ran, total - 5, 'the five steps done are skipped, the one cut short runs again');
      ran = 0;
      const again = await runPhases([upgradeHosts], c, engine);
      assert.equal(ran, 0);
      assert.equal(again[0]?.outcome, 'skipped');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the kubeadm driver', () => {
  test('upgrade apply on the first master, upgrade node elsewhere, the kubelet restarted on its new binary', async () => {
    const ctx = { ...(await kubeadmCtx(2, 1)), kubeVersion: v('v1.30.3') };
    const upgrade = kubeadmRuntime.upgrade!;
    const [m0, m1] = ctx.masters;
    const first = upgrade(ctx, m0!, v('v1.29.3'))
      .flatMap((s) => s.commands ?? [])
      .join('\n');
    const other = upgrade(ctx, m1!, v('v1.29.3'))
      .flatMap((s) => s.commands ?? [])
      .join('\n');
    const node = upgrade(ctx, ctx.nodes[0]!, v('v1.29.3'))
      .flatMap((s) => s.commands ?? [])
      .join('\n');
    assert.match(first, /kubeadm upgrade apply v1\.30\.3 --yes --certificate-renewal=false/);
    for (const text of [other, node]) assert.match(text, /kubeadm upgrade node --certificate-renewal=false/);
    for (const text of [first, other, node]) {
      shSyntax(text);
      const install = text.indexOf('/var/lib/berth/c1/rootfs/bin/kubeadm');
      assert.ok(install >= 0 && install < text.indexOf('upgrade '), 'the new kubeadm is installed first');
      assert.ok(text.indexOf('kubelet') < text.lastIndexOf('systemctl start'), 'then the kubelet restarts');
    }
    assert.equal(upgrade(ctx, m0!, v('v1.29.3'))[0]?.id, 'upgrade-v1.30.3');
  });

  test('init and join inputs leave the version out, so a version change never re-runs them', async () => {
    const ctx = await kubeadmCtx(2, 1);
    const newer = { ...ctx, kubeVersion: v('v1.30.3') };
    const inputs = (c: typeof ctx) =>
      [
        ...kubeadmRuntime.init(c),
        ...kubeadmRuntime.joinMasters(c, c.masters.slice(1)),
        ...kubeadmRuntime.joinNodes(c, c.nodes),
      ].map((s) => JSON.stringify([s.id, s.inputs ?? s.commands]));
    const joins = inputs(ctx).filter((i) => /"(init|join)"/.test(i));
    assert.equal(joins.length, 3);
    assert.deepEqual(
      joins,
      inputs(newer).filter((i) => /"(init|join)"/.test(i)),
    );
  });
});

describe('the kubeadm stand-in', () => {
  const s = (t: string) => {
    const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(t)!;
    return { text: t, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  };
  test('skew policy: one minor at a time, no downgrade, never past kubeadm, kubelets within 3 minors', () => {
    assert.deepEqual(upgradeSkewErrors(s('v1.29.3'), s('v1.30.3'), s('v1.30.3'), []), []);
    assert.match(
      upgradeSkewErrors(s('v1.28.15'), s('v1.30.3'), s('v1.30.3'), []).join('|'),
      /is too high; kubeadm can upgrade only 1 minor version at a time/,
    );
    assert.match(
      upgradeSkewErrors(s('v1.30.3'), s('v1.30.3'), s('v1.29.3'), []).join('|'),
      /Downgrades are not supported/,
    );
    assert.match(
      upgradeSkewErrors(s('v1.29.3'), s('v1.29.3'), s('v1.30.3'), []).join('|'),
      /higher than the kubeadm version "v1.29.3"/,
    );
    assert.match(
      upgradeSkewErrors(s('v1.29.3'), s('v1.30.3'), s('v1.30.3'), [{ node: 'n', version: 'v1.26.0' }]).join(
        '|',
      ),
      /kubelets in this cluster that are too old that have these versions \[v1.26.0\]/,
    );
  });
  test('upgrade flags as kubeadm 1.27-1.31 registers them', () => {
    const apply = commandFlags('upgrade apply', 30)!;
    const parsed = parseFlags(['v1.30.3', '-y', '--certificate-renewal=false', '--etcd-upgrade'], apply);
    assert.deepEqual(parsed.positional, ['v1.30.3']);
    assert.equal(parsed.values.get('yes'), true);
    assert.equal(parsed.values.get('certificate-renewal'), false);
    assert.throws(
      () => parseFlags(['--skip-phases=preflight'], apply),
      (e: Error) => e instanceof FlagError && e.message === 'unknown flag: --skip-phases',
    );
    assert.throws(() => parseFlags(['--yes'], commandFlags('upgrade node', 30)!), /unknown flag: --yes/);
    assert.ok(commandFlags('upgrade node', 29)!.some((f) => f.name === 'skip-phases'));
    assert.ok(commandFlags('upgrade plan', 31)!.some((f) => f.name === 'feature-gates'));
  });
});

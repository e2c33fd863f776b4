// --dry-run against the real CLI on three sandbox hosts (1 master + 2 nodes): on a new cluster run's and
// apply's print the same plan and change neither the hosts nor berth's state; on a cluster whose run was
// killed in one of three phases (early, middle and last: the rootfs copy, the registry, the node joins)
// run's prints exactly the steps the next real run executes; on an unchanged cluster both print and run no
// host step; reset's prints the steps the reset then runs, and removes nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SandboxHost } from '../../src/sandbox/index.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  imageRef,
  mustSsh,
  runArgs,
  setupCluster,
  snapshotHost,
  startBerth,
} from '../helpers/cluster-e2e.js';

const cluster = 't-cl-dry';

/** `HOST STEP-ID` of every step line (two spaces, address, id, colon) in a run's output. */
function stepsIn(text: string): string[] {
  return [...text.matchAll(/^ {2}(\d+\.\d+\.\d+\.\d+ \S+):/gm)].map((m) => m[1] as string).sort();
}

/**
 * Every state file under `dir` with its size and content, to see that a dry run changed nothing (the lock
 * a killed run left is taken over, and the unpacked trees are compared by their key file).
 */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(
      (rel) => (!rel.startsWith('.lock') && !/^(rootfs|apps)\/./.test(rel)) || rel === 'rootfs/.berth-key',
    )
    .map((rel) => {
      const p = join(dir, rel);
      const st = statSync(p);
      return st.isFile() ? `${rel} ${st.size} ${readFileSync(p, 'base64')}` : `${rel}/`;
    })
    .sort();
}

test('a dry run writes nothing and prints exactly the steps the next run executes', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-cl-dry', hosts: 3 });
  const { sb, home } = setup;
  const dir = join(home, cluster);
  setup.resetOnCleanup(cluster);
  const args = runArgs(setup.sb.name, cluster, { masters: 1, nodes: 2 });

  const hostsBefore = sb.hosts.map((h) => snapshotHost(setup, h));
  const fresh = await berthOk([...args, '--dry-run']);
  assert.ok(stepsIn(fresh.stdout).length > 0, 'a new cluster has steps to plan');
  // apply of the Clusterfile that run means plans the same steps
  const [m0, ...nodes] = sb.hosts as [SandboxHost, ...SandboxHost[]];
  const clusterfile = join(home, 'dry-run.Clusterfile');
  writeFileSync(
    clusterfile,
    `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata: { name: ${cluster} }
spec:
  image: [${imageRef}]
  ssh: { user: root, pk: ${sb.keyPath} }
  hosts:
    - { ips: [${m0.ip}], roles: [master] }
    - { ips: [${nodes.map((h) => h.ip).join(', ')}], roles: [node] }
`,
  );
  const applied = await berthOk(['apply', '-f', clusterfile, '--dry-run']);
  assert.deepEqual(stepsIn(applied.stdout), stepsIn(fresh.stdout), 'apply --dry-run plans what run does');
  for (const r of [fresh, applied]) assert.match(r.stdout, /^\[.+\]$/m, 'the plan is printed phase by phase');
  assert.equal(existsSync(dir), false, `a dry run left ${dir}: ${listing(dir).join(', ')}`);
  assert.deepEqual(
    readdirSync(join(home, 'tmp')).filter((n) => n.startsWith('dry-run-')),
    [],
    'a dry run left its scratch dir',
  );
  for (const [i, h] of sb.hosts.entries()) await assertHostAsBefore(setup, h, hostsBefore[i] as HostSnapshot);

  const phases = ['distribute the rootfs', 'start the cluster registry', 'join nodes'];
  for (const phase of phases) {
    // a run killed as soon as it enters `phase`
    const { child, done } = startBerth(args);
    const killed = new Promise<void>((resolve) => {
      let seen = '';
      child.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes(`==> ${phase}\n`) && child.pid !== undefined && child.exitCode === null) {
          process.kill(child.pid, 'SIGKILL');
          resolve();
        }
      });
      child.on('close', () => resolve());
    });
    await killed;
    const r = await done;
    assert.equal(r.signal, 'SIGKILL', `the run reached no "${phase}" (exit ${r.code}):\n${r.stderr}`);

    const before = listing(dir);
    const dry = await berthOk([...args, '--dry-run']);
    assert.deepEqual(listing(dir), before, 'the dry run changed the state dir');
    const real = await berthOk(args);
    const planned = stepsIn(dry.stdout);
    assert.deepEqual(
      stepsIn(real.stderr),
      planned,
      `killed in "${phase}": the run did other steps than planned`,
    );
    assert.ok(planned.length > 0, `killed in "${phase}": nothing was left to do`);
    console.log(`killed in "${phase}": ${planned.length} step(s) planned and run`);

    if (phase !== phases[phases.length - 1]) {
      await berthOk(['reset', '--cluster', cluster]);
      continue;
    }
    // the cluster is whole now: neither a dry run nor a run has a host step left
    const again = await berthOk([...args, '--dry-run']);
    assert.deepEqual(stepsIn(again.stdout), []);
    const unchanged = await berthOk(args);
    assert.deepEqual(stepsIn(unchanged.stderr), [], 'an unchanged re-apply ran a host step');
    // reset --dry-run: the steps of the reset, and nothing removed (the cluster still answers)
    const stateBefore = listing(dir);
    const dryReset = await berthOk(['reset', '--cluster', cluster, '--dry-run']);
    assert.deepEqual(listing(dir), stateBefore, 'reset --dry-run changed the state dir');
    assertReadyNodes(
      join(dir, 'kubeconfig'),
      sb.hosts.map((h) => h.ip),
    );
    for (const h of sb.hosts) mustSsh(setup, h, `test -d /var/lib/berth/${cluster}`);
    const reset = await berthOk(['reset', '--cluster', cluster]);
    assert.ok(stepsIn(dryReset.stdout).length >= sb.hosts.length, 'reset --dry-run plans a step per host');
    assert.deepEqual(
      stepsIn(reset.stderr),
      stepsIn(dryReset.stdout),
      'the reset did other steps than planned',
    );
  }
});

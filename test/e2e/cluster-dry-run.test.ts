// --dry-run against the real CLI on three sandbox hosts (1 master + 2 nodes): on a new cluster it writes
// no state at all; on a cluster whose run was killed in one of five phases it prints exactly the steps the
// next real run executes; on an unchanged cluster both print and run no host step.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthOk, imageRef, setupCluster, startBerth } from '../helpers/cluster-e2e.js';

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
  const args = [
    'run',
    imageRef,
    '--sandbox',
    sb.name,
    '--cluster',
    cluster,
    '--masters',
    '1',
    '--nodes',
    '2',
  ];

  const fresh = await berthOk([...args, '--dry-run']);
  assert.ok(stepsIn(fresh.stdout).length > 0, 'a new cluster has steps to plan');
  assert.equal(existsSync(dir), false, `a dry run left ${dir}: ${listing(dir).join(', ')}`);
  assert.deepEqual(
    readdirSync(join(home, 'tmp')).filter((n) => n.startsWith('dry-run-')),
    [],
    'a dry run left its scratch dir',
  );

  const phases = [
    'distribute the rootfs',
    'run the check hook',
    'start the cluster registry',
    'initialise the first master',
    'join nodes',
  ];
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

    // the cluster is whole now: neither a dry run nor a run has a host step left
    const again = await berthOk([...args, '--dry-run']);
    assert.deepEqual(stepsIn(again.stdout), []);
    const unchanged = await berthOk(args);
    assert.deepEqual(stepsIn(unchanged.stderr), [], 'an unchanged re-apply ran a host step');
    await berthOk(['reset', '--cluster', cluster]);
  }
});

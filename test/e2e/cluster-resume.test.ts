// `berth run` killed with SIGKILL at moments spread over a whole run: after every kill the local state
// is readable, and the next run picks up where the journal says; at least five kills must each come after
// more steps were journaled, and the run after the last kill runs none of the journaled steps again and
// ends with a working cluster; reset then leaves the hosts as they were.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal } from '../../src/apply/journal.js';
import { loadClusterfile } from '../../src/clusterfile/index.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  runArgs,
  setupCluster,
  snapshotHost,
  startBerth,
} from '../helpers/cluster-e2e.js';

const cluster = 't-cl-res';

/** Every journal line is one whole JSON entry: a kill never leaves half a line behind. */
function checkJournal(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${path} ends in a torn line`);
  const lines = text.split('\n').filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const entry = JSON.parse(line) as { host?: unknown; step?: unknown };
    assert.equal(typeof entry.host, 'string', `${path}:${i + 1}`);
    assert.equal(typeof entry.step, 'string', `${path}:${i + 1}`);
  }
  return lines.length;
}

test('run survives SIGKILL at any moment and resumes to a working cluster', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-cl-res', hosts: 3 });
  const { sb, home } = setup;
  const dir = join(home, cluster);
  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);
  const args = runArgs(setup.sb.name, cluster);

  // A whole run, timed, sets the scale: kill moments are drawn from slices of it that move later with each
  // kill, so kills land in early phases (facts, images, rootfs) and late ones (joins, readiness). A resumed
  // run has less left to do and may finish before its kill; the cluster is then reset so that the next
  // attempt has a whole run to be cut short.
  const whole = await berthOk(args);
  await berthOk(['reset', '--cluster', cluster]);
  console.log(`a whole run took ${(whole.ms / 1000).toFixed(1)} s`);
  const fractions: Array<[number, number]> = [
    [0.03, 0.15],
    [0.15, 0.3],
    [0.3, 0.45],
    [0.45, 0.6],
    [0.6, 0.75],
    [0.75, 0.95],
  ];
  // a run from scratch that finishes before its kill shows how long such a run takes now (later ones find
  // more cached): the kill moments follow it
  let scale = whole.ms;
  const journalPath = join(dir, 'journal.jsonl');
  // A kill counts only when the journal grew since the one before: a run cut short before it finished
  // a step proves nothing about resuming. The slices move on with every kill, counted or not.
  let kills = 0;
  let counted = 0;
  let lastEntries = 0;
  for (let attempt = 0; attempt < 20 && counted < 6; attempt++) {
    const fromScratch = checkJournal(journalPath) === 0;
    const [a, b] = fractions[Math.min(kills, fractions.length - 1)] as [number, number];
    const delay = Math.round((a + Math.random() * (b - a)) * scale);
    const { child, done } = startBerth(args);
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, delay);
    const r = await done;
    clearTimeout(timer);
    const entries = checkJournal(journalPath);
    const phase = [...r.stderr.matchAll(/==> (.*)/g)].pop()?.[1] ?? 'before the first phase';
    if (existsSync(join(dir, 'Clusterfile'))) {
      const loaded = await loadClusterfile(join(dir, 'Clusterfile'));
      assert.equal(loaded.cluster.metadata.name, cluster);
    }
    await Journal.open(journalPath);
    if (r.signal === 'SIGKILL') {
      kills++;
      const grew = entries > lastEntries;
      if (grew) counted++;
      console.log(
        `run killed at ${delay} ms (in: ${phase}); journal has ${entries} entries${grew ? '' : ', no more than before: not counted'}`,
      );
      lastEntries = entries;
      continue;
    }
    console.log(`run exited ${r.code} before its kill at ${delay} ms; journal has ${entries} entries`);
    assert.equal(r.code, 0, `a run between kills failed:\n${r.stderr}`);
    if (fromScratch) scale = Math.min(scale, r.ms);
    await berthOk(['reset', '--cluster', cluster]);
    lastEntries = 0;
  }

  assert.ok(counted >= 5, `only ${counted} of ${kills} kills came after the journal grew`);
  const journaled = (await Journal.open(journalPath)).entries().map((e) => `${e.host} ${e.step}`);
  const final = await berthOk(args);
  console.log(
    `the run after the kills finished in ${(final.ms / 1000).toFixed(1)} s, ${journaled.length} steps journaled before it`,
  );
  const ran = new Set([...final.stderr.matchAll(/^ {2}(\d+\.\d+\.\d+\.\d+ \S+):/gm)].map((m) => m[1]));
  assert.deepEqual(
    journaled.filter((s) => ran.has(s)),
    [],
    'the run after the kills ran again steps the journal shows done',
  );
  assertReadyNodes(
    join(dir, 'kubeconfig'),
    sb.hosts.map((h) => h.ip),
  );

  const r = await berthOk(['reset', '--cluster', cluster]);
  console.log(`reset took ${(r.ms / 1000).toFixed(1)} s`);
  assert.equal(existsSync(dir), false, 'the cluster state dir is gone');
  for (const h of sb.hosts) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});

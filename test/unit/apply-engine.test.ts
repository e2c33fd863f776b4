import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPhases } from '../../src/apply/engine.js';
import { Journal } from '../../src/apply/journal.js';
import type { ChangePhase, CheckPhase, PlannedStep } from '../../src/apply/phase.js';
import type { PlannedCluster } from '../../src/apply/planned-cluster.js';
import { clusterPaths, loadDriverState } from '../../src/apply/state.js';
import { stepOutput } from '../../src/runtime/step-output.js';
import { ConnectionLostError, exitCodeOf, RemoteCommandError } from '../../src/util/errors.js';
import { redact } from '../../src/util/log.js';
import { applyFake, type FakeState, master } from '../helpers/fake-runtime.js';
import { localRunner } from '../helpers/run-local.js';
import { testDir } from '../helpers/test-dir.js';

const cluster = {} as PlannedCluster;

function captureStdout(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  return { lines, restore: () => (process.stdout.write = original) };
}

test('phases run in order, skip what the journal has done, and stop at a failure', async (t) => {
  const root = testDir(t, 'berth-engine-');
  const journal = await Journal.open(join(root, 'journal.jsonl'));
  const ran: string[] = [];
  const step = (id: string, command = 'true'): PlannedStep => ({
    host: 'h1',
    id,
    description: id,
    commands: [command],
  });
  const phase = (title: string, steps: PlannedStep[]): ChangePhase => ({
    title,
    plan: () => ({ order: 'parallel', steps }),
  });
  const engine = { journal, runner: localRunner(root, ran), options: {} };
  const reports = await runPhases(
    [phase('a', [step('a')]), phase('b', []), phase('c', [step('c')])],
    cluster,
    engine,
  );
  assert.deepEqual(
    reports.map((r) => r.outcome),
    ['ran', 'skipped', 'ran'],
  );
  assert.equal(ran.length, 2);
  const again = await runPhases([phase('a', [step('a')])], cluster, engine);
  assert.equal(again[0]?.outcome, 'skipped', 'a step done with the same inputs is not run again');
  await assert.rejects(
    runPhases([phase('x', [step('x', 'echo broke >&2; exit 3')]), phase('y', [step('y')])], cluster, engine),
    /broke|exit/,
  );
  assert.equal(journal.isDone('h1', 'y', ''), false);

  // a provider of fresh values runs only while a step that uses them is still to do
  const provider: PlannedStep = {
    host: 'h0',
    id: 'fresh',
    description: 'fresh',
    always: true,
    outputs: { value: 'echo v-$$' },
  };
  const consumer: PlannedStep = {
    ...step('use', `test -n ${stepOutput('h0', 'fresh', 'value')}`),
    inputs: 'use',
  };
  ran.length = 0;
  await runPhases([phase('p', [consumer, provider])], cluster, engine);
  assert.deepEqual(ran, ['h0', 'h1'], 'the provider runs first');
  ran.length = 0;
  const idle = await runPhases([phase('p', [consumer, provider])], cluster, engine);
  assert.deepEqual([ran, idle[0]?.outcome], [[], 'skipped']);

  const out = captureStdout();
  const check: CheckPhase = {
    title: 'look',
    summary: () => 'would look',
    check: async () => assert.fail('a check does not run in a dry run'),
  };
  let planned: Awaited<ReturnType<typeof runPhases>>;
  try {
    planned = await runPhases([phase('d', [step('d')]), check], cluster, {
      ...engine,
      options: { dryRun: true },
    });
  } finally {
    out.restore();
  }
  assert.deepEqual(ran, [], 'nothing runs in a dry run');
  assert.deepEqual(planned[0]?.steps, ['h1 d: d']);
  assert.deepEqual(out.lines, ['[d]', '  h1 d: d', '[look]', '  (check) would look']);
});

test('a step consumes an output captured on another host; prepare state survives a new process, encrypted', async (t) => {
  const root = testDir(t, 'berth-engine-');
  process.env.BERTH_HOME = join(root, 'home');
  const helper = fileURLToPath(new URL('../helpers/fake-runtime.js', import.meta.url));
  // the first apply in a process of its own
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { applyFake } = await import(${JSON.stringify(helper)}); await applyFake(${JSON.stringify(root)}, 'fake1', ['10.0.0.2']);`,
    ],
    { env: { ...process.env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const token = readFileSync(join(root, '10.0.0.2', 'token'), 'utf8');
  assert.match(token, /^token-[0-9a-f]{16}$/, 'the node got the token its master printed');
  const state = (await loadDriverState('fake1')) as FakeState;
  assert.equal(readFileSync(join(root, master, 'secret'), 'utf8').trim(), state.secret);
  const onDisk = readFileSync(clusterPaths('fake1').driverState, 'utf8');
  assert.ok(!onDisk.includes(state.secret), 'the driver state is encrypted on disk');
  const journalText = readFileSync(clusterPaths('fake1').journal, 'utf8');
  assert.ok(!journalText.includes(token), 'step outputs are encrypted in the journal');

  // this process: same state, nothing to do; a new node joins with the token from the first process
  assert.deepEqual(await applyFake(root, 'fake1', ['10.0.0.2']), [], 'an unchanged apply runs no step');
  assert.deepEqual(await applyFake(root, 'fake1', ['10.0.0.2', '10.0.0.3']), ['10.0.0.3']);
  assert.equal(readFileSync(join(root, '10.0.0.3', 'token'), 'utf8'), token);
  assert.deepEqual(await loadDriverState('fake1'), state, 'prepare got its state back');
  assert.equal(redact(`x ${token} ${state.secret}`), 'x *** ***', 'outputs and state are masked');
});

test("a step's failure is one line naming its host and step, with the failure's exit code", async (t) => {
  const root = testDir(t, 'berth-engine-');
  const journal = await Journal.open(join(root, 'journal.jsonl'));
  const steps: PlannedStep[] = [
    { host: 'h1', id: 'join', description: 'join agent h1', commands: ['true'] },
    { host: 'h2', id: 'join', description: 'join agent h2', commands: ['true'] },
  ];
  // h2's link goes down mid-step: its runner fails as SSH does, h1 finishes its step
  const local = localRunner(root);
  const runner = {
    ...local,
    async run(host: string, script: string, onLine: (line: string) => void) {
      if (host === 'h2') throw new ConnectionLostError('h2', 'sh -c ...');
      return local.run(host, script, onLine);
    },
  };
  const phase: ChangePhase = { title: 'join nodes', plan: () => ({ order: 'parallel', steps }) };
  await assert.rejects(runPhases([phase], cluster, { journal, runner, options: {} }), (err: Error) => {
    assert.equal(err.message, 'h2 join (join agent h2): connection lost');
    assert.equal(exitCodeOf(err), 5);
    return true;
  });
  assert.equal(
    journal
      .entries()
      .filter((e) => e.step === 'join')
      .map((e) => e.host)
      .join(),
    'h1',
  );

  // a command failing on the host: the step's last line says why, the action script's command line not
  const failing = {
    ...local,
    async run(host: string, _script: string, onLine: (line: string) => void) {
      onLine('first');
      onLine('broke');
      throw new RemoteCommandError(host, 'sh -c ...', 3, '`sh -c ...` exited 3: broke');
    },
  };
  const broken: ChangePhase = {
    title: 'b',
    plan: () => ({
      order: 'sequential',
      steps: [{ host: 'h3', id: 'rootfs', description: 'copy', commands: ['x'] }],
    }),
  };
  await assert.rejects(
    runPhases([broken], cluster, { journal, runner: failing, options: {} }),
    (err: Error) => {
      assert.equal(err.message, 'h3 rootfs (copy): exited 3: broke');
      assert.equal(exitCodeOf(err), 7);
      return true;
    },
  );
});

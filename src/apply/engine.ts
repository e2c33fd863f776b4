import { actionScript, type HostAction } from '../host/action.js';
import { fillOutputs, outputRefs } from '../runtime/step-output.js';
import {
  BerthError,
  ConnectionLostError,
  InputError,
  InterruptedError,
  manyHostsFailed,
  RemoteCommandError,
} from '../util/errors.js';
import { log, registerSecret } from '../util/log.js';
import { settleLimit } from '../util/pool.js';
import { digestInputs } from './journal.js';
import {
  type Engine,
  type Phase,
  type PhaseReport,
  type PlannedStep,
  stepLine,
  type TreeCopy,
} from './phase.js';
import type { PlannedCluster } from './planned-cluster.js';

// The one place where plans meet hosts. For each phase: ask for its plan, drop the steps the journal
// shows done with the same inputs, then print the rest (dry run) or run them and journal each one as it
// completes, capturing the outputs steps declare. Phases therefore cannot differ between a dry run and a
// run: both are the same list of pending steps.

const outputLine = /^berth-output (\S+) (\S*)$/;

/** The action script plus lines that print each declared output, base64 so any bytes survive one line. */
function scriptWithOutputs(action: HostAction, outputs: Record<string, string> | undefined): string {
  const lines = Object.entries(outputs ?? {}).map(
    ([name, command]) =>
      `(\no=$(\n${command}\n)\nprintf 'berth-output %s ' ${JSON.stringify(name)}; printf %s "$o" | base64 | tr -d '\\n'; echo\n)`,
  );
  return actionScript({ ...action, commands: [...(action.commands ?? []), ...lines] });
}

/** The digest a step is journaled under: its chosen inputs, else what it writes and runs. */
function identity(s: PlannedStep): string {
  return digestInputs(s.inputs ?? { files: s.files, commands: s.commands, outputs: s.outputs });
}

/** The output placeholders a step's files and commands hold, as `HOST STEP`. */
function uses(s: PlannedStep): string[] {
  return [...(s.commands ?? []), ...(s.files ?? []).map((f) => f.content)]
    .flatMap(outputRefs)
    .map((r) => `${r.host} ${r.step}`);
}

/** A step that runs every time only to read values back (a fresh join token). */
const isProvider = (s: PlannedStep) => !!(s.always && s.outputs);

/**
 * The steps still to do: those the journal does not show done with the same inputs; a provider only
 * when a step still to do uses its outputs, so an unchanged cluster asks for no fresh token.
 */
function pending(engine: Engine, steps: PlannedStep[]): PlannedStep[] {
  const todo = steps.filter(
    (s) => !isProvider(s) && (s.always || !engine.journal.isDone(s.host, s.id, identity(s))),
  );
  const used = new Set(todo.flatMap(uses));
  return steps.filter((s) => todo.includes(s) || (isProvider(s) && used.has(`${s.host} ${s.id}`)));
}

/** The step with every output placeholder replaced by its captured value. */
function filled(engine: Engine, s: PlannedStep): HostAction {
  const value = (ref: { host: string; step: string; name: string }): string => {
    const v = engine.journal.outputs(ref.host, ref.step)?.[ref.name];
    if (v === undefined)
      throw new InputError(
        `${s.host}: step ${s.id} needs output ${ref.name} of step ${ref.step} on ${ref.host}, which has not run`,
      );
    return v;
  };
  return {
    description: s.description,
    secrets: s.secrets,
    files: s.files?.map((f) => ({ ...f, content: fillOutputs(f.content, value) })),
    commands: s.commands?.map((c) => fillOutputs(c, value)),
  };
}

async function runOne(engine: Engine, s: PlannedStep): Promise<void> {
  for (const v of s.secrets ?? []) registerSecret(v);
  log.info(`  ${stepLine(s)}`);
  let lastLine = '';
  try {
    const action = filled(engine, s);
    for (const v of action.secrets ?? []) registerSecret(v);
    const hasWork = (action.files?.length ?? 0) + (action.commands?.length ?? 0) > 0 || s.outputs;
    const captured: Record<string, string> = {};
    if (hasWork) {
      // outputs are taken from the stream: collected output is capped, a chatty step could push them out
      await engine.runner.run(s.host, scriptWithOutputs(action, s.outputs), (line) => {
        const m = outputLine.exec(line);
        if (!m) {
          if (line.trim()) lastLine = line.trim();
          return log.debug(`${s.host}: ${line}`);
        }
        const value = Buffer.from(m[2] as string, 'base64').toString('utf8');
        registerSecret(value);
        captured[m[1] as string] = value;
      });
    }
    if (s.forgetsHost) await engine.journal.forgetHost(s.host);
    else if (!s.always) await engine.journal.record(s.host, s.id, identity(s), captured);
    else if (s.outputs) engine.journal.remember(s.host, s.id, captured);
  } catch (err) {
    if (s.failure && err instanceof RemoteCommandError)
      throw new RemoteCommandError(
        s.host,
        err.command,
        err.exitStatus,
        `${s.failure} failed (exit ${err.exitStatus}): ${lastLine || 'no output'}`,
      );
    if (!s.mayFail) throw inStep(s, err, lastLine);
    log.warn(`${s.host} ${s.id}: ${(err as Error).message}`);
  }
}

/**
 * A step's failure as one line naming the host and the step (`HOST STEP (description): what`), with the
 * error's exit code: the action script's own command line says nothing, the step's last line does.
 */
function inStep(s: PlannedStep, err: unknown, lastLine: string): unknown {
  if (!(err instanceof BerthError) || err instanceof InterruptedError) return err;
  const own = `${s.host}: `;
  const what =
    err instanceof RemoteCommandError
      ? `exited ${err.exitStatus}: ${lastLine || 'no output'}`
      : err instanceof ConnectionLostError
        ? `connection lost${lastLine ? ` (last output: ${lastLine})` : ''}`
        : err.message.startsWith(own)
          ? err.message.slice(own.length)
          : err.message;
  return new BerthError(`${s.host} ${s.id} (${s.description}): ${what}`, err.exitCode, { cause: err });
}

/** Sends every tree the steps copy, grouped so that one tree goes out once to all its hosts. */
async function copyTrees(engine: Engine, steps: PlannedStep[]): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  const groups = new Map<string, { copy: TreeCopy; hosts: string[] }>();
  for (const s of steps) {
    for (const c of s.copies ?? []) {
      const key = JSON.stringify(c);
      const g = groups.get(key) ?? { copy: c, hosts: [] };
      g.hosts.push(s.host);
      groups.set(key, g);
    }
  }
  for (const { copy, hosts } of groups.values()) {
    const r = await engine.runner.copy(
      copy,
      hosts.filter((h) => !failed.has(h)),
    );
    for (const [h, err] of r.failed) failed.set(h, err);
  }
  return failed;
}

/** Runs one plan's pending steps; every host is attempted, then the failures are thrown as one. */
async function runSteps(
  engine: Engine,
  steps: PlannedStep[],
  order: 'parallel' | 'sequential',
): Promise<void> {
  if (order === 'sequential') {
    for (const s of steps) {
      const failed = await copyTrees(engine, [s]);
      const err = failed.get(s.host);
      if (err) throw err;
      await runOne(engine, s);
    }
    return;
  }
  const failed = await copyTrees(engine, steps);
  // steps whose outputs another pending step uses run first
  const used = new Set(steps.flatMap(uses));
  const waves = [
    steps.filter((s) => used.has(`${s.host} ${s.id}`)),
    steps.filter((s) => !used.has(`${s.host} ${s.id}`)),
  ];
  const errors: Error[] = [...failed.values()];
  for (const wave of waves) {
    const byHost = new Map<string, PlannedStep[]>();
    for (const s of wave) if (!failed.has(s.host)) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
    const outcomes = await settleLimit(
      [...byHost.values()],
      engine.options.concurrency ?? 20,
      async (list) => {
        for (const s of list) await runOne(engine, s);
      },
    );
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'rejected') {
        errors.push(o.reason as Error);
        failed.set([...byHost.keys()][i] as string, o.reason as Error);
      }
    }
  }
  const err = manyHostsFailed(errors);
  if (err) throw err;
}

/** Runs the phases in order against the planned cluster; in a dry run prints each phase's pending steps. */
export async function runPhases(
  phases: readonly Phase[],
  cluster: PlannedCluster,
  engine: Engine,
): Promise<PhaseReport[]> {
  const reports: PhaseReport[] = [];
  const { dryRun, signal } = engine.options;
  for (const phase of phases) {
    signal?.throwIfAborted();
    const start = Date.now();
    if ('check' in phase) {
      if (phase.needed && !phase.needed(cluster)) {
        reports.push({ title: phase.title, outcome: 'skipped', ms: 0, steps: [] });
        continue;
      }
      if (dryRun) {
        log.out(`[${phase.title}]`);
        log.out(`  (check) ${phase.summary(cluster)}`);
        reports.push({ title: phase.title, outcome: 'planned', ms: 0, steps: [] });
        continue;
      }
      log.info(`==> ${phase.title}`);
      await phase.check(cluster, engine).catch((err) => {
        reports.push({ title: phase.title, outcome: 'failed', ms: Date.now() - start, steps: [] });
        throw err;
      });
      reports.push({ title: phase.title, outcome: 'ran', ms: Date.now() - start, steps: [] });
      continue;
    }
    const plan = await phase.plan(cluster);
    const todo = pending(engine, plan.steps);
    const lines = todo.map(stepLine);
    if (todo.length === 0) {
      reports.push({ title: phase.title, outcome: 'skipped', ms: Date.now() - start, steps: [] });
      log.debug(`phase skipped: ${phase.title}`);
      continue;
    }
    if (dryRun) {
      log.out(`[${phase.title}]`);
      for (const line of lines) log.out(`  ${line}`);
      reports.push({ title: phase.title, outcome: 'planned', ms: 0, steps: lines });
      continue;
    }
    log.info(`==> ${phase.title}`);
    try {
      await runSteps(engine, todo, plan.order);
    } catch (err) {
      reports.push({ title: phase.title, outcome: 'failed', ms: Date.now() - start, steps: lines });
      throw err;
    }
    reports.push({ title: phase.title, outcome: 'ran', ms: Date.now() - start, steps: lines });
    log.debug(`phase done in ${Date.now() - start} ms: ${phase.title}`);
  }
  return reports;
}

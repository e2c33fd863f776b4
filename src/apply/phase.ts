import { log } from '../util/log.js';

// An apply is a list of phases run in order by one manager (the model is k0sctl's phase manager).
// Each phase decides from gathered facts whether it has anything to do, so re-applying an unchanged
// cluster skips almost everything, and describes itself for --dry-run without touching any host.

export interface Phase<C> {
  readonly title: string;
  /** False when the facts show nothing to do; such a phase is reported as skipped. */
  shouldRun(ctx: C): boolean | Promise<boolean>;
  run(ctx: C): Promise<void>;
  /** What run() would do, one line per action, without changing anything. */
  dryRun(ctx: C): string[] | Promise<string[]>;
  /**
   * The phase changes nothing on any host (it gathers facts or prepares local files), so it runs in a dry
   * run too: the plans of later phases depend on what it learns.
   */
  readonly readOnly?: boolean;
}

export interface PhaseReport {
  title: string;
  outcome: 'ran' | 'skipped' | 'failed' | 'planned';
  ms: number;
  plan?: string[];
}

export async function runPhases<C>(
  phases: ReadonlyArray<Phase<C>>,
  ctx: C,
  opts: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<PhaseReport[]> {
  const reports: PhaseReport[] = [];
  for (const phase of phases) {
    opts.signal?.throwIfAborted();
    const start = Date.now();
    if (!(await phase.shouldRun(ctx))) {
      reports.push({ title: phase.title, outcome: 'skipped', ms: Date.now() - start });
      log.debug(`phase skipped: ${phase.title}`);
      continue;
    }
    if (opts.dryRun && !phase.readOnly) {
      const plan = await phase.dryRun(ctx);
      reports.push({ title: phase.title, outcome: 'planned', ms: 0, plan });
      log.out(`[${phase.title}]`);
      for (const line of plan) log.out(`  ${line}`);
      continue;
    }
    log.info(`==> ${phase.title}`);
    try {
      await phase.run(ctx);
    } catch (err) {
      reports.push({ title: phase.title, outcome: 'failed', ms: Date.now() - start });
      throw err;
    }
    reports.push({ title: phase.title, outcome: 'ran', ms: Date.now() - start });
    log.debug(`phase done in ${Date.now() - start} ms: ${phase.title}`);
  }
  return reports;
}

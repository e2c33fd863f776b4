import type { ResolvedHost } from '../clusterfile/index.js';
import { actionScript, type HostAction } from '../host/action.js';
import { log, registerSecret } from '../util/log.js';
import { settleLimit } from '../util/pool.js';
import { type ApplyContext, hostSpec } from './context.js';
import { digestInputs } from './journal.js';

// Runs what drivers and generators return (files + shell) on hosts, once per host and inputs: a step the
// journal shows done with the same inputs is skipped, so an interrupted apply resumes where it stopped.

export async function runAction(ctx: ApplyContext, host: ResolvedHost, action: HostAction): Promise<void> {
  for (const s of action.secrets ?? []) registerSecret(s);
  const session = await ctx.pool.session(hostSpec(host));
  // The script arrives on stdin, but its commands must not read the rest of it as their own input.
  await session.exec(`sh -c 'script=$(cat) && eval "$script" </dev/null'`, {
    sudo: true,
    stdin: actionScript(action),
    signal: ctx.options.signal,
    onLine: (line) => log.debug(`${host.ip}: ${line}`),
  });
}

/** Whether `step` with these inputs is still to be done on `host` (a phase asks this to say it has work). */
export function stepPending(ctx: ApplyContext, host: ResolvedHost, step: string, inputs: unknown): boolean {
  return !ctx.journal.isDone(host.ip, step, digestInputs(inputs));
}

/**
 * Runs `action` on `host` unless the journal already has `step` done there with the same inputs, then
 * records it. `inputs` defaults to the action itself, so any change in files or commands reruns it.
 */
export async function runStep(
  ctx: ApplyContext,
  host: ResolvedHost,
  step: string,
  action: HostAction,
  inputs: unknown = action,
): Promise<boolean> {
  const digest = digestInputs(inputs);
  if (ctx.journal.isDone(host.ip, step, digest)) return false;
  log.info(`${host.ip}: ${action.description}`);
  await runAction(ctx, host, action);
  await ctx.journal.record(host.ip, step, digest);
  return true;
}

/** Runs `fn` on each host in parallel (bounded); every host is attempted, the first failure is rethrown. */
export async function onHosts(
  ctx: ApplyContext,
  hosts: ResolvedHost[],
  fn: (host: ResolvedHost) => Promise<unknown>,
): Promise<void> {
  const outcomes = await settleLimit(hosts, ctx.options.concurrency ?? 20, fn);
  const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
  const first = failed[0];
  if (first) {
    if (failed.length > 1) first.message += ` (and ${failed.length - 1} more host(s) failed)`;
    throw first;
  }
}

export function hostByIp(ctx: ApplyContext, ip: string): ResolvedHost {
  const h = ctx.hosts.find((x) => x.ip === ip);
  if (!h) throw new Error(`host ${ip} is not part of cluster ${ctx.name}`);
  return h;
}

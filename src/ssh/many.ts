import { manyHostsFailed } from '../util/errors.js';
import { settleLimit } from '../util/pool.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { LocalTree } from './local-tree.js';
import type { SshPool } from './pool.js';
import type { SshSession } from './session.js';
import type { TreeCopyResult } from './tree-copy.js';
import { type HostSpec, hostLabel } from './types.js';

/** The outcome on one host of an operation run on many: a value, or the one-line error it failed with. */
export type HostOutcome<T> = { host: string; ok: true; value: T } | { host: string; ok: false; error: Error };

export interface ManyOptions {
  /** Hosts worked on at once; 20 by default. */
  concurrency?: number;
}

export interface ExecManyOptions extends Omit<ExecOptions, 'onLine'>, ManyOptions {
  /** Each output line as it arrives, with the host it came from. */
  onLine?: (host: string, line: string, stream: 'stdout' | 'stderr') => void;
}

async function onHosts<T>(
  hosts: HostSpec[],
  concurrency: number | undefined,
  fn: (spec: HostSpec) => Promise<T>,
): Promise<HostOutcome<T>[]> {
  const settled = await settleLimit(hosts, concurrency ?? 20, fn);
  return settled.map((s, i) => {
    const host = hostLabel(hosts[i] as HostSpec);
    return s.status === 'fulfilled'
      ? { host, ok: true, value: s.value }
      : { host, ok: false, error: s.reason instanceof Error ? s.reason : new Error(String(s.reason)) };
  });
}

/** Runs `fn` with a session on every host, at most `concurrency` (20) at once, never throwing. */
export function onEachHost<T>(
  pool: SshPool,
  hosts: HostSpec[],
  fn: (session: SshSession) => Promise<T>,
  opts: ManyOptions = {},
): Promise<HostOutcome<T>[]> {
  return onHosts(hosts, opts.concurrency, async (spec) => fn(await pool.session(spec)));
}

/** Runs one command on every host (connecting through the pool), never throwing: see each outcome. */
export function execOnHosts(
  pool: SshPool,
  hosts: HostSpec[],
  command: string,
  opts: ExecManyOptions = {},
): Promise<HostOutcome<ExecResult>[]> {
  const { concurrency, onLine, ...execOpts } = opts;
  return onHosts(hosts, concurrency, async (spec) => {
    const session = await pool.session(spec);
    return session.exec(command, {
      ...execOpts,
      onLine: onLine ? (line, stream) => onLine(session.label, line, stream) : undefined,
    });
  });
}

/** Copies a local tree to `remoteDir` on every host; the tree is scanned and each file hashed once. */
export async function copyToHosts(
  pool: SshPool,
  hosts: HostSpec[],
  localDir: string,
  remoteDir: string,
  opts: Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> & ManyOptions = {},
): Promise<HostOutcome<TreeCopyResult>[]> {
  const tree = await LocalTree.scan(localDir);
  return onHosts(hosts, opts.concurrency, async (spec) =>
    (await pool.session(spec)).putTree(tree, remoteDir, opts),
  );
}

/** Throws the first failure, noting how many other hosts failed too. */
export function throwOnFailure<T>(outcomes: HostOutcome<T>[]): T[] {
  const failed = manyHostsFailed(outcomes.flatMap((o) => (o.ok ? [] : [o.error])));
  if (failed) throw failed;
  return outcomes.map((o) => (o.ok ? o.value : (undefined as never)));
}

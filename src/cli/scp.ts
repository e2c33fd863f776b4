import { stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import type { Command } from 'commander';
import type { HostOutcome, SshSession } from '../ssh/index.js';
import { exitCodeOf, InputError, InterruptedError, nearestExitCode, UsageError } from '../util/errors.js';
import { interruptSignal } from '../util/interrupt.js';
import { log } from '../util/log.js';
import { formatBytes } from '../util/progress.js';
import {
  addSshFlags,
  concurrencyOf,
  poolFor,
  resolveHosts,
  type SshFlags,
  timeoutMsOf,
} from './ssh-flags.js';

/** `:PATH` (hosts from flags) or `HOSTS:PATH`; the path must be absolute, which is how `HOSTS:` is told apart. */
export function parseRemote(arg: string): { hosts?: string; path: string } | undefined {
  const i = arg.indexOf(':/');
  if (i < 0) return undefined;
  return i === 0 ? { path: arg.slice(1) } : { hosts: arg.slice(0, i), path: arg.slice(i + 1) };
}

interface Copied {
  bytesSent: number;
  filesSent: number;
  filesSkipped: number;
}

async function sendSources(
  session: SshSession,
  sources: string[],
  dest: string,
  flags: SshFlags,
  signal: AbortSignal,
): Promise<Copied> {
  const total: Copied = { bytesSent: 0, filesSent: 0, filesSkipped: 0 };
  const intoDir = dest.endsWith('/') || sources.length > 1;
  const opts = { sudo: flags.sudo, timeoutMs: timeoutMsOf(flags), signal };
  for (const src of sources) {
    const target = intoDir ? posix.join(dest, basename(src)) : dest;
    if ((await stat(src)).isDirectory()) {
      const r = await session.putTree(src, target, opts);
      total.bytesSent += r.bytesSent;
      total.filesSent += r.filesSent;
      total.filesSkipped += r.filesSkipped;
    } else {
      const mode = (await stat(src)).mode & 0o7777;
      total.bytesSent += (await session.putFile(src, target, { ...opts, mode })).bytesSent;
      total.filesSent++;
    }
  }
  return total;
}

export function registerScp(program: Command): void {
  addSshFlags(
    program
      .command('scp')
      .description(
        'copy files and trees to many hosts (only what differs is sent), or fetch a file: berth scp SRC... :/DIR | HOSTS:/DIR, berth scp HOST:/FILE LOCAL',
      )
      .argument('<paths...>', 'sources then destination'),
  ).action(async (paths: string[], flags: SshFlags) => {
    if (paths.length < 2) throw new UsageError('give at least one source and a destination');
    const dst = paths[paths.length - 1] as string;
    const sources = paths.slice(0, -1);
    const remoteDst = parseRemote(dst);
    const remoteSrc = sources.length === 1 ? parseRemote(sources[0] as string) : undefined;
    if (!remoteDst && !remoteSrc)
      throw new UsageError(`neither ${dst} nor the source is remote (:/PATH or HOST:/PATH)`);
    if (remoteDst && sources.some((s) => parseRemote(s)))
      throw new UsageError('copy from local paths to hosts, or from one host to a local path');
    if (remoteDst) {
      for (const s of sources)
        await stat(s).catch(() => {
          throw new InputError(`${s}: no such local file or directory`);
        });
    }
    const hosts = await resolveHosts(flags, (remoteDst ?? remoteSrc)?.hosts);
    const pool = await poolFor(flags);
    const signal = interruptSignal();
    const started = Date.now();
    try {
      const { onEachHost } = await import('../ssh/index.js');
      let outcomes: HostOutcome<Copied | undefined>[];
      if (remoteDst) {
        outcomes = await onEachHost(
          pool,
          hosts,
          (s) => sendSources(s, sources, remoteDst.path, flags, signal),
          {
            concurrency: concurrencyOf(flags),
          },
        );
      } else {
        if (hosts.length !== 1) throw new UsageError('fetch from exactly one host: HOST:/PATH LOCAL');
        const src = remoteSrc as { path: string };
        outcomes = await onEachHost(pool, hosts, async (s) => {
          await s.fetchFile(src.path, dst, {
            sudo: flags.sudo,
            timeoutMs: timeoutMsOf(flags),
            signal,
          });
          return undefined;
        });
      }
      for (const o of outcomes) {
        if (!o.ok) log.info(o.error.message);
        else if (o.value)
          log.info(
            `${o.host}: sent ${o.value.filesSent} files (${formatBytes(o.value.bytesSent)}), ${o.value.filesSkipped} already there`,
          );
        else log.info(`${o.host}: fetched ${remoteSrc?.path} to ${dst}`);
      }
      const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
      const failed = errors.length;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      log.info(`scp: ${outcomes.length - failed} of ${outcomes.length} hosts succeeded in ${secs} s`);
      if (signal.aborted) throw new InterruptedError();
      const code = nearestExitCode(errors.map(exitCodeOf));
      if (code !== undefined) process.exitCode = code;
    } finally {
      await pool.closeAll();
    }
  });
}

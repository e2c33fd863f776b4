import type { Command } from 'commander';
import { ExitCode, exitCodeOf, InterruptedError, nearestExitCode, UsageError } from '../util/errors.js';
import { interruptSignal } from '../util/interrupt.js';
import { log } from '../util/log.js';
import {
  addSshFlags,
  concurrencyOf,
  poolFor,
  resolveHosts,
  type SshFlags,
  timeoutMsOf,
} from './ssh-flags.js';

export function registerExec(program: Command): void {
  addSshFlags(
    program
      .command('exec')
      .description('run a command on many hosts at once over SSH, output prefixed by host')
      .argument('<command...>', 'the command (put it after --)'),
  )
    .option('--json', 'print one JSON array of {host, code, stdout, stderr, error} instead of streaming')
    .action(async (words: string[], flags: SshFlags) => {
      const command = words.join(' ');
      if (command.trim() === '') throw new UsageError('give the command to run after --');
      const { execOnHosts } = await import('../ssh/index.js');
      const hosts = await resolveHosts(flags);
      const pool = await poolFor(flags);
      const signal = interruptSignal();
      const started = Date.now();
      try {
        const outcomes = await execOnHosts(pool, hosts, command, {
          sudo: flags.sudo,
          timeoutMs: timeoutMsOf(flags),
          signal,
          concurrency: concurrencyOf(flags),
          allowFailure: true,
          // streamed output is printed as it comes; only --json needs it kept
          collect: !!flags.json,
          onLine: flags.json
            ? undefined
            : (host, line, stream) =>
                stream === 'stdout' ? log.out(`${host}: ${line}`) : log.info(`${host}: ${line}`),
        });
        const failed = outcomes.filter((o) => !o.ok || o.value.code !== 0);
        if (flags.json) {
          const rows = outcomes.map((o) =>
            o.ok ? { host: o.host, ...o.value } : { host: o.host, code: null, error: o.error.message },
          );
          log.out(JSON.stringify(rows, null, 2));
        } else {
          for (const o of outcomes) {
            if (!o.ok)
              log.info(
                `${o.host}: ${o.error.message.startsWith(o.host) ? o.error.message.slice(o.host.length + 2) : o.error.message}`,
              );
            else if (o.value.code !== 0) log.info(`${o.host}: exited ${o.value.code}`);
          }
        }
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        log.info(
          `exec: ${outcomes.length - failed.length} of ${outcomes.length} hosts succeeded in ${secs} s`,
        );
        if (signal.aborted) throw new InterruptedError();
        const code = nearestExitCode(
          failed.map((o) => (o.ok ? ExitCode.remoteCommand : exitCodeOf(o.error))),
        );
        if (code !== undefined) process.exitCode = code;
      } finally {
        await pool.closeAll();
      }
    });
}

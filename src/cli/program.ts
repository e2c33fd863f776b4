import { Command, CommanderError } from 'commander';
import { BerthError, ExitCode, InterruptedError } from '../util/errors.js';
import { interruptSignal, listenForInterrupt } from '../util/interrupt.js';
import { isDebug, log, redact, setDebug } from '../util/log.js';
import { versionLine } from './build-info.js';
import { commands } from './commands.js';

export function buildProgram(): Command {
  const program = new Command('berth')
    .description(
      'Install and manage Kubernetes clusters on plain Linux hosts over SSH, from OCI cluster images',
    )
    .version(versionLine(), '-V, --version')
    .option('--debug', 'print debug lines and stack traces')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  program.hook('preAction', (cmd) => {
    if (cmd.opts().debug) setDebug(true);
  });
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI and returns the exit code; every failure becomes one line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  const stopListening = listenForInterrupt();
  try {
    if (argv.includes('--debug')) setDebug(true);
    await program.parseAsync(argv);
    if (interruptSignal().aborted) return interrupted();
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    // Whatever an interrupted operation failed with (an abort, a cut stream), the cause was Ctrl-C.
    if (interruptSignal().aborted) {
      if (isDebug() && (err as Error)?.stack) log.debug((err as Error).stack as string);
      return interrupted(err instanceof InterruptedError ? err.message : undefined);
    }
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    if (err instanceof BerthError) {
      process.stderr.write(`berth: ${redact(err.message)}\n`);
      if (isDebug() && err.stack) log.debug(err.stack);
      return err.exitCode;
    }
    const e = err as Error;
    process.stderr.write(`berth: internal error: ${redact(e?.message ?? String(err))}\n`);
    if (isDebug() && e?.stack) log.debug(e.stack);
    else process.stderr.write('berth: run again with --debug for a stack trace\n');
    return ExitCode.internal;
  } finally {
    stopListening();
  }
}

function interrupted(message = 'interrupted'): number {
  process.stderr.write(`berth: ${redact(message)}\n`);
  return ExitCode.interrupted;
}

import { Command, CommanderError } from 'commander';
import { BerthError, ExitCode } from '../util/errors.js';
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
  const onSignal = () => {
    // A second Ctrl-C while cleanup runs exits at once.
    process.once('SIGINT', () => process.exit(ExitCode.interrupted));
  };
  process.once('SIGINT', onSignal);
  try {
    if (argv.includes('--debug')) setDebug(true);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
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
    process.removeListener('SIGINT', onSignal);
  }
}

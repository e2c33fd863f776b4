import type { Command } from 'commander';
import { addRunFlags, type RunFlagValues } from './run-flags.js';

// `berth gen` prints the Clusterfile that `berth run` with the same flags would apply. A password or
// passphrase given on the command line is never printed: the file gets a ${VAR} reference instead.

export const passwordVariable = 'BERTH_SSH_PASSWORD';
export const passphraseVariable = 'BERTH_SSH_PK_PASSWORD';

export function registerGen(program: Command): void {
  const gen = program
    .command('gen')
    .description('print the Clusterfile for a cluster described by run flags')
    .option('-o, --output <file>', 'write to FILE instead of stdout');
  addRunFlags(gen).action(async (images: string[], flags: RunFlagValues & { output?: string }) => {
    const { clusterFromRunArgs, mapSecrets, stringifyClusterfile } = await import('../clusterfile/index.js');
    const { runArgsFromFlags } = await import('./run-flags.js');
    const { log, registerSecret } = await import('../util/log.js');
    registerSecret(flags.passwd);
    registerSecret(flags.pkPasswd);
    const cluster = clusterFromRunArgs(runArgsFromFlags(images, flags));
    const referenced = new Set<string>();
    const printable = mapSecrets(cluster, (_, path) => {
      const variable = path[path.length - 1] === 'pkPasswd' ? passphraseVariable : passwordVariable;
      referenced.add(variable);
      return `\${${variable}}`;
    });
    const text = stringifyClusterfile(printable);
    if (flags.output) {
      const { writeFileAtomic } = await import('../util/atomic.js');
      const { localFileError } = await import('../util/errors.js');
      await writeFileAtomic(flags.output, text, 0o644).catch((err: unknown) => {
        throw localFileError(flags.output as string, 'output file', err, true);
      });
      log.info(`wrote ${flags.output}`);
    } else {
      process.stdout.write(text);
    }
    for (const variable of referenced) {
      log.info(`the Clusterfile refers to \${${variable}}; export ${variable} before using it`);
    }
  });
}

import type { Command } from 'commander';
import { interruptSignal } from '../util/interrupt.js';
import { type ApplyFlags, addApplyFlags, applyOptions } from './cluster-flags.js';
import { addRunFlags, type RunFlagValues } from './run-flags.js';

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description('install a cluster from images onto hosts (apply of the Clusterfile the flags describe)')
    .option('--sandbox <name>', 'use the hosts of a sandbox; --masters/--nodes may then be counts');
  addApplyFlags(addRunFlags(run)).action(
    async (images: string[], flags: RunFlagValues & ApplyFlags & { sandbox?: string }) => {
      const { clusterFromRunArgs } = await import('../clusterfile/index.js');
      const { runArgsFromFlags } = await import('./run-flags.js');
      const { registerSecret } = await import('../util/log.js');
      const { runApply } = await import('../apply/apply-cluster.js');
      registerSecret(flags.passwd);
      registerSecret(flags.pkPasswd);
      let args = runArgsFromFlags(images, {
        ...flags,
        passwd: flags.passwd ?? process.env.BERTH_SSH_PASSWORD,
      });
      if (flags.sandbox) {
        const { sandboxRunArgs } = await import('../apply/sandbox-hosts.js');
        args = await sandboxRunArgs(flags.sandbox, args);
      }
      await runApply(clusterFromRunArgs(args), applyOptions(flags, interruptSignal()));
    },
  );
}

export function registerApply(program: Command): void {
  const apply = program
    .command('apply')
    .description('make the hosts match a Clusterfile (create, resume, scale, or nothing when unchanged)')
    .requiredOption('-f, --file <Clusterfile>', 'the Clusterfile')
    .option(
      '--set <path=value>',
      'override a field, e.g. spec.ssh.passwd=x (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option(
      '-e, --env <KEY=VALUE>',
      'add to spec.env (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    );
  addApplyFlags(apply).action(async (flags: ApplyFlags & { file: string; set: string[]; env: string[] }) => {
    const { loadClusterfile } = await import('../clusterfile/index.js');
    const { applyLoaded } = await import('../apply/apply-cluster.js');
    const loaded = await loadClusterfile(flags.file, { set: flags.set, env: flags.env });
    await applyLoaded(loaded, applyOptions(flags, interruptSignal()));
  });
}

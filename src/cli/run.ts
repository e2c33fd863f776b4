import type { Command } from 'commander';
import { interruptSignal } from '../util/interrupt.js';
import { type ApplyFlags, addApplyFlags, applyOptions } from './cluster-flags.js';
import { addRunFlags, type RunFlagValues } from './run-flags.js';

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description(
      'install a cluster from images onto hosts (apply of the Clusterfile the flags describe); without hosts, add application images to the applied cluster',
    )
    .option('--sandbox <name>', 'use the hosts of a sandbox; --masters/--nodes may then be counts')
    .option(
      '--force',
      'run the CMD of the named application images again, even when it ran with this content',
    );
  addApplyFlags(addRunFlags(run)).action(
    async (images: string[], flags: RunFlagValues & ApplyFlags & { sandbox?: string; force?: boolean }) => {
      const options = {
        ...applyOptions(flags, interruptSignal()),
        ...(flags.force ? { rerunApps: images } : {}),
      };
      if (flags.masters === undefined && flags.nodes === undefined && flags.sandbox === undefined) {
        const { addApps } = await import('../apply/add-apps.js');
        await addApps(
          flags.cluster,
          { images, env: flags.env, command: flags.cmd.length > 0 ? flags.cmd.join(' ') : undefined },
          options,
        );
        return;
      }
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
      await runApply(clusterFromRunArgs(args), options);
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

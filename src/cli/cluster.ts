import type { Command } from 'commander';
import { interruptSignal } from '../util/interrupt.js';
import { type ApplyFlags, addApplyFlags, applyOptions } from './cluster-flags.js';

// add, delete, reset, status, kubeconfig: commands on an applied cluster, named with --cluster.

const clusterOption = ['--cluster <name>', 'cluster name', 'default'] as const;

export function registerScale(program: Command): void {
  for (const verb of ['add', 'delete'] as const) {
    const cmd = program
      .command(verb)
      .description(
        verb === 'add'
          ? 'add masters or nodes to a cluster'
          : 'drain, remove and reset masters or nodes of a cluster',
      )
      .option('--masters <ips>', 'master addresses (comma list, ranges)')
      .option('--nodes <ips>', 'node addresses (comma list, ranges)')
      .option(...clusterOption);
    addApplyFlags(cmd).action(
      async (flags: ApplyFlags & { masters?: string; nodes?: string; cluster: string }) => {
        const { addHosts, deleteHosts } = await import('../apply/scale.js');
        const fn = verb === 'add' ? addHosts : deleteHosts;
        await fn(flags.cluster, flags.masters, flags.nodes, applyOptions(flags, interruptSignal()));
      },
    );
  }
}

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('remove the cluster from every host, leaving them as they were before berth')
    .option(...clusterOption)
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--accept-host-key', 'accept and record host keys that differ from the recorded ones')
    .action(async (flags: { cluster: string; dryRun?: boolean; acceptHostKey?: boolean }) => {
      const { resetCluster } = await import('../apply/reset-cluster.js');
      await resetCluster(flags.cluster, {
        dryRun: !!flags.dryRun,
        acceptNewHostKey: !!flags.acceptHostKey,
        signal: interruptSignal(),
      });
    });
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a cluster's hosts, roles, phase, node readiness and application images")
    .option(...clusterOption)
    .option('--json', 'print JSON')
    .action(async (flags: { cluster: string; json?: boolean }) => {
      const { clusterStatus } = await import('../apply/status.js');
      const { expiryWarning } = await import('../apply/certificate-expiry.js');
      const { log } = await import('../util/log.js');
      const { formatTable } = await import('./table.js');
      const s = await clusterStatus(flags.cluster);
      for (const c of s.expiringCertificates) log.warn(expiryWarning(c));
      for (const e of s.certificateErrors) {
        // SSH errors already start with the host they name
        const where = e.host && !e.error.startsWith(e.host) ? `${e.host}: ` : '';
        log.warn(`certificates not checked: ${where}${e.error}`);
      }
      if (flags.json) {
        log.out(JSON.stringify(s, null, 2));
        return;
      }
      log.out(`cluster ${s.name}: ${s.phase}`);
      log.out(`images: ${s.images.join(', ')}`);
      log.out(`kubeconfig: ${s.kubeconfig}`);
      const rows = [['HOST', 'ROLES', 'NODE', 'STATUS', 'VERSION']];
      for (const h of s.hosts) {
        const status =
          h.ready === undefined
            ? s.apiError
              ? 'unknown'
              : 'not registered'
            : h.ready
              ? 'Ready'
              : 'NotReady';
        rows.push([h.ip, h.roles.join(','), h.node ?? '-', status, h.version ?? '-']);
      }
      for (const line of formatTable(rows)) log.out(line);
      if (s.apps.length > 0) {
        log.out('applications:');
        for (const a of s.apps)
          log.out(
            `  ${a.image}  ${a.digest ?? '-'}  ${a.applied ? `applied ${a.applied}` : 'not applied yet'}`,
          );
      }
      if (s.apiError) log.warn(`the API did not answer: ${s.apiError}`);
    });
}

export function registerKubeconfig(program: Command): void {
  program
    .command('kubeconfig')
    .description("print a cluster's admin kubeconfig (rewritten to reach the API from here)")
    .option(...clusterOption)
    .option('--path', 'print the file path instead of the content')
    .action(async (flags: { cluster: string; path?: boolean }) => {
      const { kubeconfigOf } = await import('../apply/status.js');
      const k = await kubeconfigOf(flags.cluster);
      process.stdout.write(flags.path ? `${k.path}\n` : k.text);
    });
}

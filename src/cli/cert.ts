import { isIP } from 'node:net';
import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { interruptSignal } from '../util/interrupt.js';

// cert: the certificates of an applied cluster's masters. `check` lists them with their names and expiry;
// `--alt-names` gives the API servers a certificate with more names and `renew` renews every leaf, both
// made here from the CAs berth keeps and put in place one master at a time.

const dnsName = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** The names of `--alt-names A,B`: each an IP address or a DNS name (a leading `*.` allowed). */
export function parseAltNames(list: string): string[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--alt-names: give one name or address at least (A,B)');
  for (const n of names)
    if (!isIP(n) && !(dnsName.test(n) && n.length <= 253))
      throw new UsageError(`--alt-names: ${JSON.stringify(n)} is neither an IP address nor a DNS name`);
  return [...new Set(names.map((n) => (isIP(n) ? n : n.toLowerCase())))];
}

const shared = '\n--cluster <name> (default "default") and --accept-host-key are taken as for berth cert.\n';

interface ChangeFlags {
  cluster: string;
  acceptHostKey?: boolean;
  dryRun?: boolean;
}

async function change(
  flags: ChangeFlags,
  what: import('../runtime/types.js').CertificateChange,
): Promise<void> {
  const { changeClusterCertificates } = await import('../apply/cluster-certificates.js');
  await changeClusterCertificates(flags.cluster, what, {
    acceptNewHostKey: !!flags.acceptHostKey,
    dryRun: !!flags.dryRun,
    signal: interruptSignal(),
  });
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function registerCert(program: Command): void {
  const cert = program
    .command('cert')
    .description(
      "the certificates of a cluster's masters; with --alt-names, new API server certificates with the names added",
    )
    // commander gives an option of a parent command to the parent wherever it stands on the command line,
    // so --cluster and --accept-host-key are cert's alone and check and renew read them from there
    .option('--alt-names <names>', 'names and addresses to add to the API server certificate (A,B)')
    .option('--cluster <name>', 'cluster name', 'default')
    .option('--accept-host-key', 'accept and record host keys that differ from the recorded ones')
    .option('--dry-run', 'with --alt-names or renew: print the steps, change nothing')
    .action(async (flags: ChangeFlags & { altNames?: string }) => {
      if (flags.altNames === undefined)
        throw new UsageError('berth cert: give --alt-names A,B or a subcommand (check, renew)');
      await change(flags, { kind: 'alt-names', names: parseAltNames(flags.altNames) });
    });
  cert
    .command('renew')
    .description(
      'renew every leaf certificate and control-plane kubeconfig from the kept CAs, restarting the control plane one master at a time',
    )
    .addHelpText('after', `${shared}--dry-run, given to berth cert, prints the steps and changes nothing.\n`)
    .action((_flags: unknown, cmd: Command) => change(cmd.optsWithGlobals<ChangeFlags>(), { kind: 'renew' }));
  cert
    .command('check')
    .description('list every certificate on every master: path, subject, SANs, expiry and days left')
    .option('--json', 'print JSON')
    .addHelpText('after', shared)
    .action(async (_flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ChangeFlags & { json?: boolean }>();
      const { masterCertificates } = await import('../apply/master-certificates.js');
      const { log } = await import('../util/log.js');
      const { manyHostsFailed } = await import('../util/errors.js');
      const { formatTable } = await import('./table.js');
      const r = await masterCertificates(flags.cluster, {
        acceptNewHostKey: !!flags.acceptHostKey,
        signal: interruptSignal(),
      });
      if (flags.json) {
        const failed = r.failed.map((f) => ({ host: f.host, error: f.error.message }));
        log.out(JSON.stringify({ certificates: r.certificates, unreadable: r.unreadable, failed }, null, 2));
      } else {
        const rows = [['HOST', 'PATH', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'SANS']];
        for (const c of r.certificates) {
          const sans = [...c.dnsNames, ...c.ipAddresses].join(',') || '-';
          const path = c.position ? `${c.path}#${c.position}` : c.path;
          rows.push([c.host, path, c.subject, iso(c.notAfter), String(c.daysLeft), sans]);
        }
        for (const line of formatTable(rows)) log.out(line);
        for (const u of r.unreadable) log.warn(`${u.host}:${u.path}: ${u.error}`);
      }
      const failure = manyHostsFailed(r.failed.map((f) => f.error));
      if (failure) throw failure;
    });
}

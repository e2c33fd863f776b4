import type { Command } from 'commander';
import { interruptSignal } from '../util/interrupt.js';

// cert check: the certificates on every master of an applied cluster, with their names and expiry.

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function registerCert(program: Command): void {
  const cert = program.command('cert').description("the certificates of a cluster's masters");
  cert
    .command('check')
    .description('list every certificate on every master: path, subject, SANs, expiry and days left')
    .option('--cluster <name>', 'cluster name', 'default')
    .option('--json', 'print JSON')
    .option('--accept-host-key', 'accept and record host keys that differ from the recorded ones')
    .action(async (flags: { cluster: string; json?: boolean; acceptHostKey?: boolean }) => {
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

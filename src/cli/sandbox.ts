import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { log } from '../util/log.js';

function parseHosts(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`--hosts ${v}: give a whole number such as 3`);
  return Number(v);
}

export function registerSandbox(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(
      'local throwaway Linux hosts (namespaces with their own systemd and sshd) to try cluster images on',
    );

  sandbox
    .command('up')
    .description('start a sandbox of hosts reachable over SSH (needs root)')
    .option('--name <name>', 'sandbox name', 'default')
    .option('--hosts <n>', 'number of hosts', '3')
    .option('--subnet <cidr>', 'IPv4 subnet, /24 or larger (default: a free /24 in 10.210.0.0/16)')
    .option('--bandwidth <rate>', 'cap each host link in both directions, e.g. 50mbit')
    .option('--init <init>', "hosts' PID 1: systemd (default where installed) or sshd")
    .option('--json', 'print the sandbox as JSON (includes passwords)')
    .action(
      async (o: {
        name: string;
        hosts: string;
        subnet?: string;
        bandwidth?: string;
        init?: string;
        json?: boolean;
      }) => {
        const { sandboxUp } = await import('../sandbox/index.js');
        const started = Date.now();
        const opts: Parameters<typeof sandboxUp>[0] = { name: o.name, hosts: parseHosts(o.hosts) };
        if (o.subnet) opts.subnet = o.subnet;
        if (o.bandwidth) opts.bandwidth = o.bandwidth;
        if (o.init) opts.init = o.init as NonNullable<typeof opts.init>;
        const sb = await sandboxUp(opts);
        if (o.json) {
          // Explicitly asked for: these are throwaway test hosts, so their passwords are printed.
          process.stdout.write(`${JSON.stringify(sb, null, 2)}\n`);
          return;
        }
        log.info(
          `sandbox ${sb.name}: ${sb.hosts.length} hosts (${sb.init}) up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        const out = (line: string) => process.stdout.write(`${line}\n`);
        out(
          `sandbox ${sb.name}  subnet ${sb.subnet}  gateway ${sb.gateway}${sb.bandwidth ? `  bandwidth ${sb.bandwidth}` : ''}`,
        );
        out(`ssh key: ${sb.keyPath} (accepted for root and ${sb.hosts[0]?.user ?? 'berth'})`);
        out('HOST\tADDRESS\tROOT PASSWORD\tUSER\tUSER PASSWORD (sudo asks for it)');
        for (const h of sb.hosts)
          out(`${h.name}\t${h.ip}:${h.port}\t${h.rootPassword}\t${h.user}\t${h.userPassword}`);
        out(`try: ssh -i ${sb.keyPath} root@${sb.hosts[0]?.ip}`);
        out(
          `target these hosts with --sandbox ${sb.name}; remove them with: berth sandbox down --name ${sb.name}`,
        );
      },
    );

  sandbox
    .command('ls')
    .description('list sandboxes')
    .option('--json', 'print as JSON (includes passwords)')
    .action(async (o: { json?: boolean }) => {
      const { listSandboxes } = await import('../sandbox/index.js');
      const all = await listSandboxes();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      process.stdout.write('NAME\tHOSTS\tSUBNET\tADDRESSES\n');
      for (const sb of all) {
        const addrs = sb.hosts.map((h) => h.ip).join(',');
        process.stdout.write(`${sb.name}\t${sb.hosts.length}\t${sb.subnet}\t${addrs}\n`);
      }
    });

  sandbox
    .command('down')
    .description('stop a sandbox and remove everything it made')
    .option('--name <name>', 'sandbox name', 'default')
    .action(async (o: { name: string }) => {
      const { sandboxDown } = await import('../sandbox/index.js');
      await sandboxDown(o.name);
      log.info(`sandbox ${o.name}: removed`);
    });
}

import type { RunArgs } from '../clusterfile/index.js';
import { loadSandbox } from '../sandbox/index.js';
import { hostPattern, KnownHostsFile } from '../ssh/known-hosts.js';
import { UsageError } from '../util/errors.js';
import { berthPath } from '../util/paths.js';

// `berth run --sandbox S`: the sandbox's hosts and credentials stand in for --masters/--nodes and the
// login flags. The sandbox recorded each host's key when it made it, so those keys are trusted as
// recorded (a re-created sandbox on the same addresses has new keys and must not look like an attack).

export async function sandboxRunArgs(name: string, args: RunArgs): Promise<RunArgs> {
  const sb = await loadSandbox(name);
  const ips = sb.hosts.map((h) => h.ip);
  const known = new KnownHostsFile(berthPath('known_hosts'));
  for (const h of sb.hosts) {
    const blob = h.hostKey.trim().split(/\s+/)[1];
    if (blob) await known.record(hostPattern(h.ip, h.port), Buffer.from(blob, 'base64'));
  }
  const pick = (flag: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (/^\d+$/.test(value)) {
      const n = Number(value);
      return n === 0 ? undefined : ips.slice(0, n).join(',');
    }
    for (const ip of value.split(',')) {
      if (!ips.includes(ip))
        throw new UsageError(`${flag}: ${ip} is not a host of sandbox ${name} (${ips.join(', ')})`);
    }
    return value;
  };
  // With --sandbox, --masters/--nodes may be counts: the first N hosts are masters, the next M nodes.
  const masterCount = args.masters && /^\d+$/.test(args.masters) ? Number(args.masters) : undefined;
  const nodeCount = args.nodes && /^\d+$/.test(args.nodes) ? Number(args.nodes) : 0;
  if ((masterCount ?? 1) + nodeCount > ips.length)
    throw new UsageError(
      `--masters ${masterCount ?? 1}${nodeCount ? ` --nodes ${nodeCount}` : ''}: sandbox ${name} has ${ips.length} hosts; ask for at most ${ips.length} (or make the sandbox with --hosts ${(masterCount ?? 1) + nodeCount})`,
    );
  let masters = pick('--masters', args.masters) ?? ips[0];
  let nodes = args.nodes;
  if (masterCount !== undefined) masters = ips.slice(0, masterCount).join(',');
  if (nodes !== undefined && /^\d+$/.test(nodes)) {
    const start = masterCount ?? 1;
    nodes = ips.slice(start, start + Number(nodes)).join(',') || undefined;
  } else if (nodes === undefined) {
    const taken = new Set((masters ?? '').split(','));
    nodes = ips.filter((ip) => !taken.has(ip)).join(',') || undefined;
  } else {
    nodes = pick('--nodes', nodes);
  }
  return { ...args, masters, nodes, user: 'root', keyPath: sb.keyPath, password: undefined };
}

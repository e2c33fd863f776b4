import { UsageError } from '../util/errors.js';
import { expandAddressList, splitAddress } from './ips.js';
import { describeIssues } from './positions.js';
import { type Cluster, type ClusterInput, clusterApiVersion, clusterSchema } from './schema.js';

// `berth run IMAGE... --masters IPS --nodes IPS ...` is `apply` of the Cluster built here.

export interface RunArgs {
  images: readonly string[];
  /** Comma list of addresses and ranges: `10.0.0.2,10.0.0.5-10.0.0.7`. */
  masters?: string;
  nodes?: string;
  user?: string;
  password?: string;
  keyPath?: string;
  keyPassphrase?: string;
  port?: number | string;
  env?: readonly string[];
  cmd?: readonly string[];
  cluster?: string;
}

function addresses(flag: string, text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    return expandAddressList(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

function flagFor(path: ReadonlyArray<PropertyKey>): string {
  const [top, second, third] = path.map(String);
  if (top === 'metadata') return '--cluster';
  if (second === 'image') return 'IMAGE';
  if (second === 'env') return '-e';
  if (second === 'command') return '--cmd';
  if (second === 'hosts') return third === '1' ? '--nodes' : '--masters';
  if (second === 'ssh') {
    const key = String(path[2]);
    return (
      { user: '--user', port: '--port', pk: '--pk', passwd: '--passwd', pkPasswd: '--pk-passwd' } as const
    )[key as 'user'];
  }
  return 'arguments';
}

export function clusterFromRunArgs(args: RunArgs): Cluster {
  const masterIps = addresses('--masters', args.masters);
  const nodeIps = addresses('--nodes', args.nodes);
  if (masterIps.length === 0) throw new UsageError('--masters: needs at least one IP address');
  if (args.images.length === 0) throw new UsageError('needs at least one IMAGE, the rootfs image first');
  const seen = new Set<string>();
  for (const [flag, list] of [
    ['--masters', masterIps],
    ['--nodes', nodeIps],
  ] as const) {
    for (const address of list) {
      const { ip } = splitAddress(address);
      if (seen.has(ip)) throw new UsageError(`${flag}: ${ip} is given twice; an IP appears once`);
      seen.add(ip);
    }
  }
  const ssh: Record<string, unknown> = {};
  if (args.user !== undefined) ssh.user = args.user;
  if (args.password !== undefined) ssh.passwd = args.password;
  if (args.keyPath !== undefined) ssh.pk = args.keyPath;
  if (args.keyPassphrase !== undefined) ssh.pkPasswd = args.keyPassphrase;
  if (args.port !== undefined) ssh.port = args.port;
  const hosts: Array<Record<string, unknown>> = [{ ips: masterIps, roles: ['master'] }];
  if (nodeIps.length > 0) hosts.push({ ips: nodeIps, roles: ['node'] });
  const input = {
    apiVersion: clusterApiVersion,
    kind: 'Cluster',
    metadata: { name: args.cluster ?? 'default' },
    spec: {
      image: [...args.images],
      ssh,
      hosts,
      ...(args.env && args.env.length > 0 ? { env: [...args.env] } : {}),
      ...(args.cmd && args.cmd.length > 0 ? { command: [...args.cmd] } : {}),
    },
  } as ClusterInput;
  const parsed = clusterSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const first = describeIssues(parsed.error.issues)[0]!;
    throw new UsageError(`${flagFor(first.path)}: ${first.message}`);
  }
  return parsed.data;
}

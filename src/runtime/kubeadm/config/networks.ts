import { isIPv4 } from 'node:net';
import { type Cidr, formatCidr, ipToNumber, numberToIp, overlaps, parseCidr } from '../../../util/cidr.js';
import { InputError } from '../../../util/errors.js';
import type { ClusterHost } from '../../types.js';

// The cluster's address plan must not collide: a pod or service range that covers a host or the VIP makes
// that address unreachable from pods (and the balancer's VIP is DNATed on every node), so berth refuses it
// before any host is touched. IPv6 entries of a dual-stack range are not compared.

export interface NetworkInput {
  podSubnet: string;
  serviceSubnet: string;
  vip: string;
  hosts: readonly ClusterHost[];
  /** `file:line` where each range was written; absent for berth's default. */
  origin?: { podSubnet?: string; serviceSubnet?: string };
}

type RangeName = 'podSubnet' | 'serviceSubnet';

interface Range {
  name: RangeName;
  cidr: Cidr;
}

/** `file:line: networking.podSubnet`, or berth's default when no document set it. */
function label(input: NetworkInput, name: RangeName): string {
  const at = input.origin?.[name];
  return at ? `${at}: networking.${name}` : `berth's default networking.${name}`;
}

function ranges(input: NetworkInput, name: RangeName): Range[] {
  const entries = input[name].split(',').map((s) => s.trim());
  const out: Range[] = [];
  for (const entry of entries) {
    if (entry.includes(':')) continue;
    const cidr = parseCidr(entry);
    if (!cidr) {
      throw new InputError(
        `${label(input, name)} ${JSON.stringify(input[name])}: "${entry}" is not an IPv4 CIDR such as ${name === 'podSubnet' ? '100.64.0.0/10' : '10.96.0.0/22'}`,
      );
    }
    out.push({ name, cidr });
  }
  if (out.length === 0) {
    throw new InputError(
      `${label(input, name)} ${JSON.stringify(input[name])} has no IPv4 range; berth needs one`,
    );
  }
  return out;
}

function single(ip: string): Cidr | undefined {
  const n = ipToNumber(ip);
  return n === undefined ? undefined : { base: n, prefix: 32 };
}

/** Throws an InputError naming the two colliding ranges or addresses and where the range was set. */
export function checkNetworks(input: NetworkInput): void {
  const pods = ranges(input, 'podSubnet');
  const services = ranges(input, 'serviceSubnet');
  for (const p of pods) {
    for (const s of services) {
      if (overlaps(p.cidr, s.cidr)) {
        const [first, second]: RangeName[] = input.origin?.podSubnet
          ? ['podSubnet', 'serviceSubnet']
          : ['serviceSubnet', 'podSubnet'];
        const cidr = (name: RangeName) => formatCidr(name === 'podSubnet' ? p.cidr : s.cidr);
        throw new InputError(
          `${label(input, first)} ${cidr(first)} overlaps ${label(input, second).replace(/^.*: /, '')} ${cidr(second)}; set ClusterConfiguration networking.podSubnet and serviceSubnet in the Clusterfile to ranges apart`,
        );
      }
    }
  }
  const addresses = [
    { what: `the VIP ${input.vip}`, ip: input.vip },
    ...input.hosts.map((h) => ({ what: `host ${h.ip}`, ip: h.ip })),
  ];
  for (const a of addresses) {
    const addr = isIPv4(a.ip) ? single(a.ip) : undefined;
    if (!addr) continue;
    const hit = [...pods, ...services].find((r) => overlaps(r.cidr, addr));
    if (hit) {
      throw new InputError(
        `${label(input, hit.name)} ${formatCidr(hit.cidr)} contains ${a.what}; set ClusterConfiguration networking.${hit.name} in the Clusterfile to a range that holds no host address or VIP`,
      );
    }
  }
  const vipHost = input.hosts.find((h) => h.ip === input.vip);
  if (vipHost) {
    throw new InputError(
      `the VIP ${input.vip} is the address of host ${vipHost.ip}; the API balancer needs an address of its own (the image's vip label or defaultVIP env)`,
    );
  }
}

/** The ClusterIP of the `kubernetes` Service: the first address of the (first IPv4) service range. */
export function apiServiceIp(serviceSubnet: string): string {
  for (const entry of serviceSubnet.split(',')) {
    const cidr = parseCidr(entry.trim());
    if (cidr) return numberToIp(cidr.base + 1);
  }
  throw new InputError(`networking.serviceSubnet ${JSON.stringify(serviceSubnet)} has no IPv4 range`);
}

import { randomInt } from 'node:crypto';
import { type Cidr, formatCidr, numberToIp, overlaps, parseCidr } from '../util/cidr.js';
import { EnvironmentError, UsageError } from '../util/errors.js';
import { mustRun } from './run.js';

export { type Cidr, formatCidr, overlaps, parseCidr };

/** The gateway (on the bridge) takes .1; host i (1-based) takes .i+1. */
export function gatewayAddress(c: Cidr): string {
  return numberToIp(c.base + 1);
}

export function hostAddress(c: Cidr, index: number): string {
  return numberToIp(c.base + 1 + index);
}

/** Validates a --subnet value for `hosts` hosts: a /24 or larger, with room for gateway and hosts. */
export function checkSubnetSize(text: string, hosts: number): Cidr {
  const c = parseCidr(text);
  if (!c) throw new UsageError(`--subnet ${text}: not an IPv4 CIDR such as 10.77.0.0/24`);
  if (c.prefix > 24 || c.prefix < 8) {
    throw new UsageError(`--subnet ${text}: use a prefix between /8 and /24`);
  }
  // Network, gateway, hosts and broadcast must fit.
  if (hosts + 3 > 2 ** (32 - c.prefix)) {
    throw new UsageError(`--subnet ${text}: too small for ${hosts} hosts`);
  }
  return c;
}

interface UsedRange {
  cidr: Cidr;
  dev: string;
}

/** Every IPv4 range this machine already uses: interface addresses and routes of all tables. */
export async function usedRanges(): Promise<UsedRange[]> {
  const [addrs, routes] = await Promise.all([
    mustRun('listing addresses', 'ip', ['-j', '-4', 'addr', 'show']),
    mustRun('listing routes', 'ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
  ]);
  const out: UsedRange[] = [];
  for (const link of JSON.parse(addrs || '[]') as Array<{
    ifname: string;
    addr_info?: Array<{ local: string; prefixlen: number }>;
  }>) {
    for (const a of link.addr_info ?? []) {
      const c = parseCidr(`${a.local}/${a.prefixlen}`);
      if (c) out.push({ cidr: c, dev: link.ifname });
    }
  }
  for (const r of JSON.parse(routes || '[]') as Array<{ dst: string; dev?: string }>) {
    // A default route covers everything and says nothing about which ranges are in use.
    if (r.dst === 'default') continue;
    const c = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    if (c) out.push({ cidr: c, dev: r.dev ?? 'a route' });
  }
  return out;
}

export async function checkSubnetFree(c: Cidr, exceptDev?: string): Promise<void> {
  const hit = (await usedRanges()).find((u) => u.dev !== exceptDev && overlaps(u.cidr, c));
  if (hit) {
    throw new EnvironmentError(
      `subnet ${formatCidr(c)} is taken by ${hit.dev}; choose another with --subnet`,
    );
  }
}

// Default sandboxes live in 10.210.0.0/16, away from the usual pod and service ranges of Kubernetes
// distributions (10.42, 10.43, 10.96-10.111, 10.244, 192.168); a random /24 keeps concurrent `up`s apart.
export async function pickFreeSubnet(hosts: number): Promise<Cidr> {
  if (hosts + 3 > 256) {
    throw new UsageError(`${hosts} hosts do not fit a /24; give a larger one with --subnet`);
  }
  const used = await usedRanges();
  const free: Cidr[] = [];
  for (let i = 0; i < 256; i++) {
    const c = { base: ((10 << 24) | (210 << 16) | (i << 8)) >>> 0, prefix: 24 };
    if (!used.some((u) => overlaps(u.cidr, c))) free.push(c);
  }
  if (free.length === 0) {
    throw new EnvironmentError('no free /24 left in 10.210.0.0/16; choose a subnet with --subnet');
  }
  return free[randomInt(free.length)] as Cidr;
}

import { isIPv4 } from 'node:net';
import { UsageError } from '../util/errors.js';

export interface HostAddress {
  host: string;
  port?: number;
}

const MAX_RANGE = 4096;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function parsePort(item: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`host list: bad port in ${item}`);
  return port;
}

/** `10.0.0.2-10.0.0.5` or `10.0.0.2-5`: every IPv4 address from the first to the last. */
function expandRange(item: string, range: string): string[] | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+(?:\.\d+\.\d+\.\d+)?)$/.exec(range);
  if (!m) return undefined;
  const from = m[1] as string;
  const to = (m[2] as string).includes('.') ? (m[2] as string) : from.replace(/\d+$/, m[2] as string);
  if (!isIPv4(from) || !isIPv4(to)) throw new UsageError(`host list: ${item} is not a valid IPv4 range`);
  const a = ipToInt(from);
  const b = ipToInt(to);
  if (b < a) throw new UsageError(`host list: range ${item} ends before it starts`);
  if (b - a >= MAX_RANGE)
    throw new UsageError(`host list: range ${item} holds more than ${MAX_RANGE} addresses`);
  return Array.from({ length: b - a + 1 }, (_, i) => intToIp(a + i));
}

/**
 * Parses a comma-separated host list: `ip`, `ip:port`, `[ipv6]:port`, host names, and IPv4 ranges
 * (`10.0.0.2-10.0.0.5`, optionally `:port`). Duplicates are dropped.
 */
export function parseHostList(list: string): HostAddress[] {
  const out: HostAddress[] = [];
  const seen = new Set<string>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    let hostPart = item;
    let port: number | undefined;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
    if (v6) {
      hostPart = v6[1] as string;
      if (v6[2]) port = parsePort(item, v6[2]);
    } else if ((item.match(/:/g) ?? []).length === 1) {
      const i = item.indexOf(':');
      hostPart = item.slice(0, i);
      port = parsePort(item, item.slice(i + 1));
    }
    if (!/^[A-Za-z0-9.:_-]+$/.test(hostPart))
      throw new UsageError(`host list: ${item} is not a host name or address`);
    // Digits and dots only is meant as an IPv4 address, never a host name to look up.
    if (/^[\d.]+$/.test(hostPart) && !isIPv4(hostPart))
      throw new UsageError(`host list: ${item} is not a valid IPv4 address`);
    for (const host of expandRange(item, hostPart) ?? [hostPart]) {
      const key = `${host}:${port ?? 22}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(port === undefined ? { host } : { host, port });
    }
  }
  if (out.length === 0) throw new UsageError('host list is empty');
  return out;
}

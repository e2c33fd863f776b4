import { isIP, isIPv4 } from 'node:net';
import { ipToNumber, numberToIp } from '../util/cidr.js';

// Host addresses as sealos Clusterfiles and `run` flags write them: `ip`, `ip:port`, `[v6]:port`, and IPv4
// ranges `10.0.0.2-10.0.0.9` (optionally `:port` after the end) standing for every address in between.

/** Ranges larger than this are almost certainly typos (a wrong octet), not a real fleet. */
const maxRange = 4096;

export interface HostAddress {
  ip: string;
  port?: number;
}

/** Why `text` is not a valid `ip[:port]` or range entry, or undefined when it is. */
export function addressProblem(text: string): string | undefined {
  try {
    expandAddress(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`"${whole}" has an invalid port "${text}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new Error(`"${whole}" has port ${port}, outside 1-65535`);
  return port;
}

/** Splits `ip[:port]` / `[v6]:port`; throws an Error whose message says what is wrong. */
export function splitAddress(text: string): HostAddress {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const ip = bracketed[1] as string;
    if (isIP(ip) !== 6) throw new Error(`"${text}" is not an IP address`);
    return bracketed[2] === undefined ? { ip } : { ip, port: parsePort(bracketed[2], text) };
  }
  if (isIP(text) === 6) return { ip: text };
  const colon = text.lastIndexOf(':');
  const ip = colon >= 0 ? text.slice(0, colon) : text;
  if (!isIPv4(ip)) throw new Error(`"${text}" is not an IP address`);
  return colon >= 0 ? { ip, port: parsePort(text.slice(colon + 1), text) } : { ip };
}

/**
 * Expands one entry into `ip[:port]` strings: a single address stays as written, a range
 * `a-b[:port]` becomes every address from a to b, each with the port when one was given.
 */
export function expandAddress(text: string): string[] {
  const trimmed = text.trim();
  const dash = trimmed.indexOf('-');
  if (dash < 0) {
    splitAddress(trimmed);
    return [trimmed];
  }
  const startText = trimmed.slice(0, dash);
  const notRange = new Error(`"${text}" is not an IP address or an IPv4 range like 10.0.0.2-10.0.0.9`);
  let end: HostAddress;
  try {
    end = splitAddress(trimmed.slice(dash + 1));
  } catch {
    throw notRange;
  }
  if (!isIPv4(startText) || !isIPv4(end.ip)) throw notRange;
  const first = ipToNumber(startText)!;
  const last = ipToNumber(end.ip)!;
  if (last < first) throw new Error(`range "${text}" ends before it starts`);
  if (last - first >= maxRange) throw new Error(`range "${text}" has more than ${maxRange} addresses`);
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    out.push(end.port === undefined ? numberToIp(n) : `${numberToIp(n)}:${end.port}`);
  }
  return out;
}

/** Expands a comma-separated flag value such as `10.0.0.2,10.0.0.5-10.0.0.7`. */
export function expandAddressList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .flatMap(expandAddress);
}

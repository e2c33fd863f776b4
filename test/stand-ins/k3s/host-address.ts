// k3s picks the node IP from the interface holding the default route when --node-ip is not given.
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';

function defaultRouteInterface(): string | undefined {
  try {
    const rows = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
    for (const row of rows) {
      const [iface, dest] = row.trim().split(/\s+/);
      if (dest === '00000000') return iface;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function detectNodeIp(): string {
  const all = networkInterfaces();
  const v4 = (name: string) => (all[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const viaDefault = defaultRouteInterface();
  if (viaDefault && v4(viaDefault)) return v4(viaDefault)!;
  for (const name of Object.keys(all)) if (v4(name)) return v4(name)!;
  return '127.0.0.1';
}

export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

import { EnvironmentError } from '../util/errors.js';
import { type ApplyContext, type HostFacts, hostSpec } from './context.js';
import { onHosts } from './host-run.js';
import type { Phase } from './phase.js';

// Connects to every host (verifying host keys) and learns what later phases decide on: architecture,
// OS, hostname, clock and listening ports. Problems that would break the cluster later are refused here,
// before anything is changed on any host.

const factsScript = [
  'echo "hostname=$(hostname)"',
  'echo "arch=$(uname -m)"',
  '. /etc/os-release 2>/dev/null; echo "os=${ID:-unknown} ${VERSION_ID:-}"',
  'echo "time=$(date +%s)"',
  `for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && awk 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); print "listen=" a[n] }' "$f"; done; true`,
].join('\n');

const archNames: Record<string, string> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  amd64: 'amd64',
};
const maxClockSkewSeconds = 60;

export function parseFacts(text: string, localSeconds: number): HostFacts {
  const facts: HostFacts = { hostname: '', arch: '', os: '', clockSkew: 0, listening: new Set() };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key === 'hostname') facts.hostname = value;
    else if (key === 'arch') facts.arch = archNames[value] ?? value;
    else if (key === 'os') facts.os = value;
    else if (key === 'time') facts.clockSkew = Number(value) - localSeconds;
    else if (key === 'listen') facts.listening.add(Number.parseInt(value, 16));
  }
  return facts;
}

/** Ports the distribution and registry will listen on, by role, checked on hosts not yet installed. */
function portsNeeded(roles: string[], registry: boolean): number[] {
  const ports = [10250];
  if (roles.includes('master')) ports.push(6443);
  if (registry) ports.push(5000);
  return ports;
}

export const gatherFacts: Phase<ApplyContext> = {
  title: 'gather host facts',
  readOnly: true,
  shouldRun: () => true,
  dryRun: (ctx) => [`connect to ${ctx.hosts.length} host(s) and read arch, OS, hostname, clock and ports`],
  async run(ctx) {
    await onHosts(ctx, ctx.hosts, async (h) => {
      const session = await ctx.pool.session(hostSpec(h));
      const r = await session.exec(factsScript, { signal: ctx.options.signal });
      ctx.facts.set(h.ip, parseFacts(r.stdout, Math.round(Date.now() / 1000)));
    });
    const byName = new Map<string, string>();
    const arches = new Set<string>();
    for (const h of ctx.hosts) {
      const f = ctx.facts.get(h.ip) as HostFacts;
      const other = byName.get(f.hostname);
      if (other) {
        throw new EnvironmentError(
          `${h.ip}: hostname "${f.hostname}" is also the hostname of ${other}; node names must be unique, rename one host`,
        );
      }
      byName.set(f.hostname, h.ip);
      arches.add(f.arch);
      if (Math.abs(f.clockSkew) > maxClockSkewSeconds) {
        throw new EnvironmentError(
          `${h.ip}: clock is ${Math.round(f.clockSkew)} s off this machine's; certificates need clocks within ${maxClockSkewSeconds} s, sync it (NTP)`,
        );
      }
      const installed = ctx.journal.entries().some((e) => e.host === h.ip);
      if (installed) continue;
      const isRegistry = ctx.registryHosts.some((r) => r.ip === h.ip);
      for (const port of portsNeeded(h.roles, isRegistry)) {
        if (f.listening.has(port)) {
          throw new EnvironmentError(
            `${h.ip}: port ${port} is already in use; stop what listens there or use another host`,
          );
        }
      }
    }
    if (arches.size > 1) {
      throw new EnvironmentError(
        `hosts have different architectures (${[...arches].join(', ')}); use one architecture per cluster`,
      );
    }
  },
};

/** The image platform the hosts need. */
export function hostsPlatform(ctx: ApplyContext): { os: string; architecture: string } {
  const first = ctx.facts.values().next().value as HostFacts | undefined;
  return { os: 'linux', architecture: first?.arch || 'amd64' };
}

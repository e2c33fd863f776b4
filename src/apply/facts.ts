import type { ResolvedHost } from '../clusterfile/index.js';
import type { SshPool } from '../ssh/index.js';
import { EnvironmentError, manyHostsFailed } from '../util/errors.js';
import { settleLimit } from '../util/pool.js';
import { hostSpec } from './host-spec.js';

// Connects to every host (verifying host keys) and learns what the plan depends on: architecture, OS,
// init system, cgroup driver, container runtime socket, hostname, clock and listening ports. Problems
// that would break the cluster later are refused here, before anything is changed on any host.

export interface HostFacts {
  hostname: string;
  arch: string;
  /** /etc/os-release ID and VERSION_ID, space-separated. */
  os: string;
  init: 'systemd' | 'other';
  cgroupVersion: 1 | 2;
  /** The first container runtime socket found. */
  criSocket?: string;
  /** Seconds the host's clock is ahead of this machine's (negative: behind). */
  clockSkew: number;
  /** TCP ports something listens on. */
  listening: Set<number>;
}

const criSockets = [
  '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/var/run/cri-dockerd.sock',
];

const factsScript = [
  'echo "hostname=$(hostname)"',
  'echo "arch=$(uname -m)"',
  '. /etc/os-release 2>/dev/null; echo "os=${ID:-unknown} ${VERSION_ID:-}"',
  'if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=other; fi',
  'echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"',
  `for s in ${criSockets.join(' ')}; do if [ -S "$s" ]; then echo "cri=$s"; break; fi; done`,
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
  const facts: HostFacts = {
    hostname: '',
    arch: '',
    os: '',
    init: 'other',
    cgroupVersion: 1,
    clockSkew: 0,
    listening: new Set(),
  };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (key === 'hostname') facts.hostname = value;
    else if (key === 'arch') facts.arch = archNames[value] ?? value;
    else if (key === 'os') facts.os = value;
    else if (key === 'init') facts.init = value === 'systemd' ? 'systemd' : 'other';
    else if (key === 'cgroupfs') facts.cgroupVersion = value === 'cgroup2fs' ? 2 : 1;
    else if (key === 'cri' && value) facts.criSocket = value;
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

export interface FactsInput {
  pool: SshPool;
  hosts: ResolvedHost[];
  registryHosts: ResolvedHost[];
  /** Whether berth already installed something on the host (its ports are then its own). */
  installed: (ip: string) => boolean;
  concurrency: number;
  signal?: AbortSignal;
}

/** Every host's facts, or the first problem that would break the cluster, as one line. */
export async function gatherFacts(input: FactsInput): Promise<Map<string, HostFacts>> {
  const facts = new Map<string, HostFacts>();
  const outcomes = await settleLimit(input.hosts, input.concurrency, async (h) => {
    const session = await input.pool.session(hostSpec(h));
    const r = await session.exec(factsScript, { signal: input.signal });
    facts.set(h.ip, parseFacts(r.stdout, Math.round(Date.now() / 1000)));
  });
  const failed = manyHostsFailed(
    outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : [])),
  );
  if (failed) throw failed;
  const byName = new Map<string, string>();
  const arches = new Set<string>();
  for (const h of input.hosts) {
    const f = facts.get(h.ip) as HostFacts;
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
    if (input.installed(h.ip)) continue;
    const isRegistry = input.registryHosts.some((r) => r.ip === h.ip);
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
  return facts;
}

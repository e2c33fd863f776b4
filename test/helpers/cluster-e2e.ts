// Shared pieces of the cluster end-to-end tests: a temp BERTH_HOME with the example image built once,
// the real CLI as a child process, root SSH into sandbox hosts, kubectl against the cluster, and host
// snapshots that show exactly what a cluster left behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildExampleImage, type ExampleDistribution } from '../../examples/example-image.js';
import type { HostInit, Sandbox, SandboxHost } from '../../src/sandbox/index.js';
import { hostDir } from '../../src/sandbox/store.js';
import { withSandbox } from './sandbox.js';

const berthBin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));

export const imageRef = 'example/k3s:v1.28';

export interface ClusterSetup {
  home: string;
  sb: Sandbox;
  knownHosts: string;
  /** Runs `fn` when the test ends, while the sandbox is still up (a failed test resets its cluster). */
  onCleanup(fn: () => Promise<unknown> | unknown): void;
  /** When the test ends, resets `cluster` if it is still applied, so a failed test leaves clean hosts. */
  resetOnCleanup(cluster: string): void;
}

/**
 * A temp BERTH_HOME (set in process.env, so the CLI children and in-process helpers share it), the example
 * image built into its store, and a sandbox of `hosts` hosts. Everything goes when the test ends; the
 * sandbox goes down before the BERTH_HOME holding its record is removed.
 */
export async function setupCluster(
  t: TestContext,
  opts: {
    sandbox: string;
    hosts: number;
    init?: HostInit;
    /** The example image to build: the k3s one as imageRef (default) or another under `tag`. */
    image?: { tag: string; distribution: ExampleDistribution; version?: string };
  },
): Promise<ClusterSetup> {
  const home = mkdtempSync(join(tmpdir(), `berth-${opts.sandbox}-`));
  process.env.BERTH_HOME = home;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  // after-hooks run in registration order: the test's cleanups, then the sandbox, then BERTH_HOME
  t.after(async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.log(`cleanup failed: ${(err as Error).message}`);
      }
    }
  });
  try {
    const started = Date.now();
    await buildExampleImage({
      tag: opts.image?.tag ?? imageRef,
      workDir: join(home, 'build'),
      ...(opts.image ? { distribution: opts.image.distribution } : {}),
      ...(opts.image?.version ? { version: opts.image.version } : {}),
    });
    console.log(`example image built in ${Date.now() - started} ms`);
    const sb = await withSandbox(t, {
      name: opts.sandbox,
      hosts: opts.hosts,
      ...(opts.init ? { init: opts.init } : {}),
    });
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const knownHosts = join(home, 'test_known_hosts');
    writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
    const onCleanup = (fn: () => Promise<unknown> | unknown) => {
      cleanups.push(fn);
    };
    const resetOnCleanup = (cluster: string) =>
      onCleanup(async () => {
        if (existsSync(join(home, cluster, 'Clusterfile')))
          await berthOk(['reset', '--cluster', cluster]).catch(() => undefined);
      });
    return { home, sb, knownHosts, onCleanup, resetOnCleanup };
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
}

/**
 * `run IMAGE... --sandbox S --cluster C [--masters N] [--nodes M]`: a cluster on the first N hosts of
 * sandbox S as masters and the next M as nodes (without counts: one master, every other host a node).
 */
export function runArgs(
  sandbox: string,
  cluster: string,
  hosts: { masters?: number; nodes?: number } = {},
  images: string[] = [imageRef],
): string[] {
  const args = ['run', ...images, '--sandbox', sandbox, '--cluster', cluster];
  if (hosts.masters !== undefined) args.push('--masters', String(hosts.masters));
  if (hosts.nodes !== undefined) args.push('--nodes', String(hosts.nodes));
  return args;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Starts `berth ARGS` with the current BERTH_HOME; the caller owns the child (and its PID). */
export function startBerth(args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const started = Date.now();
  const child = spawn(process.execPath, [berthBin, ...args], {
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return { child, done };
}

export async function berth(args: string[], timeoutMs = 300_000): Promise<Run> {
  const { child, done } = startBerth(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

/** `berth ARGS` that must exit 0; the failure message carries its output. */
export async function berthOk(args: string[], timeoutMs?: number): Promise<Run> {
  const r = await berth(args, timeoutMs);
  assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code} (${r.signal ?? ''}):\n${r.stderr}`);
  return r;
}

/** What an SSH login into a sandbox host needs: its key and the pinned host keys. */
export type SshAccess = Pick<ClusterSetup, 'sb' | 'knownHosts'>;

export function ssh(
  setup: SshAccess,
  h: SandboxHost,
  script: string,
): { status: number | null; out: string; err: string } {
  const r = spawnSync(
    'ssh',
    [
      '-i',
      setup.sb.keyPath,
      '-o',
      `UserKnownHostsFile=${setup.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
      `root@${h.ip}`,
      'sh -s',
    ],
    { input: script, encoding: 'utf8', timeout: 120_000, maxBuffer: 512 * 1024 * 1024 },
  );
  return { status: r.status, out: r.stdout, err: r.stderr };
}

export function mustSsh(setup: SshAccess, h: SandboxHost, script: string): string {
  const r = ssh(setup, h, script);
  assert.equal(r.status, 0, `${h.ip}: ${r.err}`);
  return r.out;
}

export interface NodeRow {
  name: string;
  ip: string;
  ready: boolean;
  /** The version its kubelet reports, e.g. v1.30.3. */
  kubelet: string;
}

/** Real kubectl with `kubeconfig` (stdin from `input`); it must succeed, and its stdout is returned. */
export function kubectl(kubeconfig: string, args: string[], input?: string): string {
  // the discovery cache stays in the test's BERTH_HOME: the machine's ~/.kube is every host's lower layer
  const cache = join(process.env.BERTH_HOME ?? tmpdir(), 'kube-cache');
  const r = spawnSync(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', cache, '--request-timeout=10s', ...args],
    { encoding: 'utf8', timeout: 90_000, ...(input === undefined ? {} : { input }) },
  );
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The cluster's nodes as real kubectl sees them through the kubeconfig berth fetched. */
export function kubectlNodes(kubeconfig: string, server?: string): NodeRow[] {
  const stdout = kubectl(kubeconfig, [...(server ? ['--server', server] : []), 'get', 'nodes', '-o', 'json']);
  const list = JSON.parse(stdout) as {
    items: Array<{
      metadata: { name: string };
      status: {
        addresses?: Array<{ type: string; address: string }>;
        conditions?: Array<{ type: string; status: string }>;
        nodeInfo?: { kubeletVersion?: string };
      };
    }>;
  };
  return list.items.map((n) => ({
    name: n.metadata.name,
    ip: n.status.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    ready: n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    kubelet: n.status.nodeInfo?.kubeletVersion ?? '',
  }));
}

export function assertReadyNodes(kubeconfig: string, ips: string[], server?: string): void {
  const nodes = kubectlNodes(kubeconfig, server);
  assert.deepEqual(
    nodes.map((n) => `${n.ip} ${n.ready ? 'Ready' : 'NotReady'}`).sort(),
    ips.map((ip) => `${ip} Ready`).sort(),
  );
}

// ---- host snapshots ----

/**
 * Paths left out of the file list, besides the pseudo filesystems and /run/sshd:
 * - /work: the machine's shared work tree (big, changed all the time by other sessions); berth never
 *   writes there.
 * - /var/log/wtmp, /var/log/btmp, /var/log/lastlog: login accounting sshd/PAM update on every SSH
 *   login (ours included), not state berth keeps.
 * - /root/.npm: npm's cache and logs of the machine's own npm runs (berth never runs npm on a host); a log
 *   npm writes and rotates away while a test runs cannot be told apart from a host's own file.
 * - /run/systemd, /run/user, /var/log/journal: systemd's own bookkeeping of sessions, invocations and
 *   logs, changed by every login; the units and cgroups berth may leave are compared as their own
 *   sections instead.
 * A sandbox host's root is an overlay over the machine's own /, so what the machine changes meanwhile
 * (other sessions' caches, kubectl's ~/.kube/cache) shows through on every host; machineChanges() tells
 * those apart from the host's own.
 */
const skipped = [
  '/proc',
  '/sys',
  '/dev',
  '/run/sshd',
  '/work',
  '/var/log/wtmp',
  '/var/log/btmp',
  '/var/log/lastlog',
  '/root/.npm',
  '/run/systemd',
  '/run/user',
  '/var/log/journal',
];

// Units and cgroups that exist for an SSH login (ours included) while it lasts.
const loginUnits = String.raw`^(session-[0-9]+\.scope|user@[0-9]+\.service|user-[0-9]+\.slice|user-runtime-dir@[0-9]+\.service|run-user-[0-9]+\.mount) `;

// Directory sizes are block allocations that a create-then-delete grows for good; they carry no content.
const fileFormat = `-type d -printf '%p d %m\\n' -o -printf '%p %y %m %s %l\\n'`;
const prune = `\\( ${skipped.map((p) => `-path ${p}`).join(' -o ')} \\) -prune`;
// The host's own tmpfs mounts have no lower layer: every file there is the host's, digested on the host.
const tmpfsRoots = ['/run', '/tmp', '/dev/shm'];
const insideScript = `set -e
echo '## files'
# sort spills big inputs to files: in /dev/shm, left out of this list, not in the /tmp it lists
find ${[...tmpfsRoots, '/var/lib/containerd'].join(' ')} -xdev ${prune} -o ${fileFormat} | LC_ALL=C sort -T /dev/shm
echo '## digests'
find ${tmpfsRoots.join(' ')} -xdev ${prune} -o -type f -exec sha256sum {} + 2>/dev/null | awk '{ print $2, $1 }' | LC_ALL=C sort
echo '## mounts'
LC_ALL=C sort /proc/self/mounts
echo '## /etc/hosts'
cat /etc/hosts
if [ -d /run/systemd/system ]; then
  echo '## unit files'
  systemctl list-unit-files --no-legend --plain | grep -vE '${loginUnits}' | LC_ALL=C sort
  echo '## active units'
  systemctl list-units --state=active --no-legend --plain | awk '{ print $1, $4 }' | grep -vE '${loginUnits}' | LC_ALL=C sort
  echo '## cgroups'
  find /sys/fs/cgroup -type d ! -path '*/user.slice*' | LC_ALL=C sort
fi
`;

function netnsRun(netns: string, cmd: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `ip netns exec ${netns} ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** iptables-save rules without counters, comments and tables that hold nothing but empty built-in chains. */
export function iptablesRules(save: string): string[] {
  const out: string[] = [];
  let table: string[] = [];
  let meaningful = false;
  for (const raw of save.split('\n')) {
    const line = raw.replace(/\s*\[\d+:\d+\]$/, '').replace(/^\[\d+:\d+\] /, '');
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = [line];
      meaningful = false;
    } else if (line === 'COMMIT') {
      if (meaningful) out.push(...table, line);
    } else {
      table.push(line);
      const builtinAccept = /^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ACCEPT$/.test(line);
      if (!builtinAccept) meaningful = true;
    }
  }
  return out;
}

/**
 * Command lines of the processes in the host's network namespace, sorted. Hosts share the machine's PID
 * namespace, so ps or pgrep on a host would list every host's processes.
 */
export function hostProcesses(h: SandboxHost): string[] {
  const pids = spawnSync('ip', ['netns', 'pids', h.netns], { encoding: 'utf8' }).stdout.split('\n');
  return pids
    .filter(Boolean)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        return '';
      }
    })
    .filter(Boolean)
    .sort();
}

export type HostSnapshot = Record<string, string[]>;

/** The sha256 of a regular file, or undefined when `path` is no regular file (or went meanwhile). */
function fileDigest(path: string): string | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Every path below `dir`; listed again (a few times) when a running host removed a dir meanwhile. */
function listTree(dir: string): string[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return readdirSync(dir, { recursive: true, encoding: 'utf8' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw err;
    }
  }
}

/** find's letter (`%y`) for the type of an lstat result. */
function typeLetter(st: Stats): string {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return 's';
}

/** One entry as `fileFormat` prints it, so that machineChanges() can hold it against the machine's find. */
function entryLine(path: string, st: Stats, linkTarget: string): string {
  const mode = (st.mode & 0o7777).toString(8);
  return st.isDirectory()
    ? `${path} d ${mode}`
    : `${path} ${typeLetter(st)} ${mode} ${st.size} ${linkTarget}`;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// overlayfs marks a directory that hides the lower one's entries (removed, then made again) with this
// xattr; node cannot read xattrs, python3 (on every machine berth's tests run on) can.
const opaqueDirsProgram = `import os, sys
root = sys.argv[1]
for d, dirs, _ in os.walk(root):
    for n in dirs:
        p = os.path.join(d, n)
        for a in ('trusted.overlay.opaque', 'trusted.overlay.redirect'):
            try:
                os.getxattr(p, a, follow_symlinks=False)
                print(os.path.relpath(p, root))
                break
            except OSError:
                pass`;

/**
 * The host's own changes to its root, read from the overlay's upper layer on this machine rather than by
 * listing the host's whole / through the overlay (minutes for a few hosts): each entry of the upper layer
 * whose type, mode, size or link is not that of the machine's own path (the lower layer), a whiteout as
 * `PATH absent`, and a directory that hides the lower one as `... opaque`. An entry the host copied up
 * unchanged is left out, just as one it never touched. Below the machine's own mount points the lower
 * layer is not what the machine shows, so entries there are always listed.
 */
function upperChanges(upper: string): string[] {
  if (!existsSync(upper)) return [];
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith('/') && m !== '/');
  const belowMount = (p: string) => mountPoints.some((m) => p === m || p.startsWith(`${m}/`));
  const r = spawnSync('python3', ['-c', opaqueDirsProgram, upper], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `listing the opaque dirs of ${upper}: ${r.stderr}`);
  const opaque = new Set(r.stdout.split('\n').filter(Boolean));
  const out: string[] = [];
  for (const rel of listTree(upper)) {
    const onHost = `/${rel}`;
    if (skipped.some((p) => onHost === p || onHost.startsWith(`${p}/`))) continue;
    const st = lstatOrUndefined(join(upper, rel));
    if (!st) continue;
    const lower = belowMount(onHost) ? undefined : lstatOrUndefined(onHost);
    if (st.isCharacterDevice() && st.rdev === 0) {
      if (lower) out.push(`${onHost} absent`);
      continue;
    }
    const line = entryLine(onHost, st, st.isSymbolicLink() ? readlinkSync(join(upper, rel)) : '');
    if (opaque.has(rel)) out.push(`${line} opaque`);
    else if (!lower || entryLine(onHost, lower, lower.isSymbolicLink() ? readlinkSync(onHost) : '') !== line)
      out.push(line);
  }
  return out;
}

/**
 * `PATH SHA256` of every regular file in a layer of the host's own on this machine (`dir` is mounted at
 * `mountedAt` on the host) whose content is not the machine's file at that path (`below`, the overlay's
 * lower layer): what the host wrote, by content. A file the host changed and then restored (copied up,
 * same bytes) is not listed, just as one it never touched; the files section tells present from absent.
 */
function ownLayerDigests(dir: string, mountedAt: string, below?: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const rel of listTree(dir)) {
    const onHost = join(mountedAt, rel);
    if (skipped.some((p) => onHost === p || onHost.startsWith(`${p}/`))) continue;
    const digest = fileDigest(join(dir, rel));
    if (digest === undefined) continue;
    if (below !== undefined && fileDigest(join(below, rel)) === digest) continue;
    out.push(`${onHost} ${digest}`);
  }
  return out;
}

/**
 * A host's routes, less the ones of its interfaces' IPv6 link-local addresses: the kernel adds those on its
 * own a moment after a link comes up, so a snapshot taken right after `sandbox up` may come before them.
 */
function routes(h: SandboxHost, cmd: string[]): string[] {
  return netnsRun(h.netns, cmd)
    .split('\n')
    .filter((l) => l && !(l.includes('fe80::') && l.includes('proto kernel')));
}

/**
 * What a host holds: the files that are its own (type, mode, size, link: what its overlay's upper layer
 * changed, containerd's dir, its tmpfs mounts), the content digest of each of them, mounts, /etc/hosts, systemd units and
 * cgroups, processes, iptables rules and routes.
 */
export function snapshotHost(setup: SshAccess, h: SandboxHost): HostSnapshot {
  const index = setup.sb.hosts.findIndex((x) => x.ip === h.ip);
  assert.ok(index >= 0, `${h.ip} is not a host of sandbox ${setup.sb.name}`);
  const layer = hostDir(setup.sb.name, index);
  const inside = mustSsh(setup, h, insideScript);
  const snap: HostSnapshot = {};
  let section = '';
  for (const line of inside.split('\n')) {
    if (line.startsWith('## ')) {
      section = line.slice(3);
      snap[section] = [];
    } else if (line) snap[section]?.push(line);
  }
  snap.files = [...(snap.files ?? []), ...upperChanges(join(layer, 'upper'))].sort();
  snap.digests = [
    ...(snap.digests ?? []),
    ...ownLayerDigests(join(layer, 'upper'), '/', '/'),
    ...ownLayerDigests(join(layer, 'containerd'), '/var/lib/containerd'),
  ].sort();
  snap.processes = hostProcesses(h);
  snap.iptables = iptablesRules(netnsRun(h.netns, ['iptables-save']));
  snap.ip6tables = iptablesRules(netnsRun(h.netns, ['ip6tables-save']));
  snap.routes = routes(h, ['ip', 'route', 'show', 'table', 'all']);
  snap.routes6 = routes(h, ['ip', '-6', 'route', 'show', 'table', 'all']);
  return snap;
}

/** Lines only in `before` (-) or only in `after` (+), per section; empty when equal. */
export function snapshotDiff(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const section of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const count = new Map<string, number>();
    for (const l of before[section] ?? []) count.set(l, (count.get(l) ?? 0) + 1);
    for (const l of after[section] ?? []) count.set(l, (count.get(l) ?? 0) - 1);
    for (const [l, n] of count) {
      if (n > 0) out.push(`${section}: - ${l}`);
      if (n < 0) out.push(`${section}: + ${l}`);
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The file lines of `diff` that the machine's own / shows the same way: changes of the overlay's lower
 * layer, not of the host. Paths on the host's own mounts (/run, /tmp, /var/lib/containerd) never are.
 */
function machineChanges(diff: string[]): Set<string> {
  const files = diff.flatMap((l) => {
    const m = /^files: ([-+]) (\S+)/.exec(l);
    return m?.[1] && m[2] ? [{ line: l, sign: m[1], path: m[2], text: l.slice('files: + '.length) }] : [];
  });
  const own = (p: string) => /^\/(run|tmp|dev\/shm|var\/lib\/containerd)(\/|$)/.test(p);
  const candidates = files.filter((f) => !own(f.path));
  if (candidates.length === 0) return new Set();
  const paths = [...new Set(candidates.map((f) => f.path))];
  const r = spawnSync('sh', ['-c', `find "$@" -maxdepth 0 ${fileFormat} 2>/dev/null; true`, 'sh', ...paths], {
    encoding: 'utf8',
  });
  const onMachine = new Map(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.split(' ')[0] as string, l]),
  );
  return new Set(
    candidates
      .filter((f) => (f.sign === '+' ? onMachine.get(f.path) === f.text : onMachine.get(f.path) !== f.text))
      .map((f) => f.line),
  );
}

/**
 * Asserts the host equals its snapshot. Processes of SSH sessions that just closed take a moment to go,
 * so a difference is looked at again a few times (bounded) before it counts.
 */
export async function assertHostAsBefore(
  setup: ClusterSetup,
  h: SandboxHost,
  before: HostSnapshot,
): Promise<void> {
  let diff: string[] = [];
  for (let i = 0; i < 5; i++) {
    const all = snapshotDiff(before, snapshotHost(setup, h));
    const machine = machineChanges(all);
    diff = all.filter((l) => !machine.has(l));
    if (diff.length === 0) {
      if (machine.size > 0)
        console.log(`${h.ip}: ${machine.size} changed path(s) are the machine's own, not the host's`);
      return;
    }
    await sleep(1000);
  }
  const shown = diff.slice(0, 60).join('\n');
  assert.fail(
    `${h.ip} differs from its snapshot in ${diff.length} line(s):\n${shown}${diff.length > 60 ? '\n…' : ''}`,
  );
}

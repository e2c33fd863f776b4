// Entry point of the k0s v1.28–v1.30 stand-in: cobra's command tree as k0s has it (aliases, the flags of
// each command, `Error: <message>` on stderr and exit 1), the kubectl/ctr multicall names, and the
// dispatch to the long-running roles and the one-shot commands.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { bool, type FlagValues, list, parseFlags, str } from '../kubeadm/cobra-flags.js';
import {
  type ClusterSettings,
  defaultConfigYaml,
  loadClusterConfig,
  versionParts,
} from './cluster-config.js';
import { runController } from './controller-run.js';
import { runInstall } from './install-command.js';
import { COMMAND_FLAGS, knownComponents, ROOT_COMMANDS, SUBCOMMANDS } from './k0s-flags.js';
import { DEFAULT_CONFIG, DEFAULT_DATA_DIR, type K0sPaths, k0sPaths, k0sVersion } from './k0s-paths.js';
import { serviceState, startService, stopService } from './k0s-service.js';
import {
  etcdLeave,
  etcdMemberList,
  kubeconfigAdmin,
  kubeconfigCreate,
  statusText,
  sysinfoText,
  versionText,
} from './node-commands.js';
import { runReset } from './reset-command.js';
import { readStatus } from './status-socket.js';
import { tokenCreate, tokenInvalidate, tokenList } from './token-commands.js';
import { runWorker } from './worker-run.js';

class CommandError extends Error {}

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function requireRoot(bang = false): void {
  if (process.getuid?.() !== 0) throw new CommandError(`this command must be run as root${bang ? '!' : ''}`);
}

/** The ClusterConfig a command reads: -c/--config (`-` is stdin), else /etc/k0s/k0s.yaml when present. */
function readConfig(values: FlagValues, fallback = DEFAULT_CONFIG): ClusterSettings {
  const path = str(values, 'config') ?? fallback;
  let text = '';
  if (path === '-') text = readFileSync(0, 'utf8');
  else if (existsSync(path)) text = readFileSync(path, 'utf8');
  else if (str(values, 'config'))
    throw new CommandError(`failed to read config: open ${path}: no such file or directory`);
  return loadClusterConfig(text, versionParts(k0sVersion().k0s));
}

/** What a running k0s used (its /run/k0s/k0s.yaml), else what a start would read. */
function runtimeConfig(p: K0sPaths, values: FlagValues): ClusterSettings {
  return existsSync(p.runtimeConfig)
    ? readConfig(new Map([['config', p.runtimeConfig]]))
    : readConfig(values);
}

function joinToken(role: string, values: FlagValues, positional: string[]): string | undefined {
  const file = str(values, 'token-file');
  if (file && positional.length)
    throw new CommandError(
      `you can only pass one token argument either as a CLI argument 'k0s ${role} [join-token]' or as a flag 'k0s ${role} --token-file [path]'`,
    );
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new CommandError(`failed to read token file ${file}: ${(e as Error).message}`);
    }
  }
  return positional[0];
}

function checkComponents(values: FlagValues): void {
  const known = knownComponents(versionParts(k0sVersion().k0s).minor);
  for (const c of list(values, 'disable-components'))
    if (!known.includes(c)) throw new CommandError(`unknown component ${c}`);
}

const write = (text: string) => process.stdout.write(text);

/** Resolves `k0s <words...>` to a command path and its arguments, as cobra walks its tree. */
function resolveCommand(argv: string[]): { path: string; args: string[] } {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  if (first < 0) return { path: '', args: argv };
  const root = ROOT_COMMANDS[argv[first]];
  if (!root)
    throw new CommandError(`unknown command "${argv[first]}" for "k0s"\nRun 'k0s --help' for usage.`);
  const rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
  const subs = SUBCOMMANDS[root];
  if (!subs) return { path: root, args: rest };
  const i = rest.findIndex((a) => !a.startsWith('-'));
  const sub = i >= 0 ? subs[rest[i]] : undefined;
  if (!sub) {
    if (root === 'status') return { path: root, args: rest };
    if (i >= 0) throw new CommandError(`unknown command "${rest[i]}" for "k0s ${root}"`);
    return { path: root, args: rest };
  }
  return { path: `${root} ${sub}`, args: [...rest.slice(0, i), ...rest.slice(i + 1)] };
}

/** kubectl and ctr pass through to the machine's tools with k0s's admin kubeconfig and containerd socket. */
function passThrough(tool: 'kubectl' | 'ctr', args: string[]): never {
  const p = k0sPaths(DEFAULT_DATA_DIR);
  const env = { ...process.env };
  if (tool === 'kubectl' && !env.KUBECONFIG && !args.some((a) => a.startsWith('--kubeconfig')))
    env.KUBECONFIG = p.adminConf;
  const argv =
    tool === 'ctr' && !args.some((a) => a === '-a' || a.startsWith('--address'))
      ? ['--address', p.containerdSocket, ...args]
      : args;
  const r = spawnSync(tool, argv, { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

async function main(): Promise<void> {
  const invokedAs = basename(process.argv[1] ?? 'k0s');
  const argv = process.argv.slice(2);
  if (invokedAs === 'kubectl' || invokedAs === 'k0s-kubectl') passThrough('kubectl', argv);
  if (invokedAs === 'ctr' || invokedAs === 'k0s-ctr') passThrough('ctr', argv);
  const { path, args } = resolveCommand(argv);
  if (path === 'kubectl' || path === 'ctr') passThrough(path, args);
  if (path === '' || (SUBCOMMANDS[path] && path !== 'status')) {
    write(
      `k0s - Zero Friction Kubernetes (berth's test stand-in, ${k0sVersion().k0s})\n\nUsage:\n  k0s [command]\n`,
    );
    return;
  }
  const specs = COMMAND_FLAGS[path];
  if (!specs) throw new CommandError(`unknown command "${path}" for "k0s"`);
  const { values, positional } = parseFlags(args, specs);
  if (bool(values, 'help')) {
    write(`Usage:\n  k0s ${path} [flags]\n`);
    return;
  }
  const dataDir = str(values, 'data-dir') ?? DEFAULT_DATA_DIR;
  const p = k0sPaths(dataDir);
  const statusSocket = str(values, 'status-socket') ?? p.statusSocket;
  switch (path) {
    case 'controller': {
      checkComponents(values);
      const token = joinToken('controller', values, positional);
      return runController(p, readConfig(values), values, token);
    }
    case 'worker':
      return runWorker(p, values, joinToken('worker', values, positional));
    case 'install controller':
    case 'install worker': {
      requireRoot();
      const role = path === 'install controller' ? 'controller' : 'worker';
      if (role === 'controller') checkComponents(values);
      joinToken(role, values, positional);
      const c = role === 'controller' ? readConfig(values) : undefined;
      const self = realpathSync(process.argv[1]);
      return runInstall(role, values, c, dataDir, self);
    }
    case 'start':
      requireRoot();
      return startService();
    case 'stop':
      requireRoot();
      return stopService();
    case 'reset': {
      requireRoot(true);
      const running = await readStatus(statusSocket).then(
        () => true,
        () => false,
      );
      if (running || serviceState()?.running)
        throw new CommandError('k0s seems to be running! please stop k0s before reset.');
      let c: ClusterSettings | undefined;
      try {
        c = runtimeConfig(p, values);
      } catch {
        c = undefined;
      }
      const errors = runReset(p, c);
      if (errors.length) throw new CommandError(`errors occurred during clean-up: ${errors.join('; ')}`);
      return;
    }
    case 'status':
      return void write(await statusText(statusSocket, str(values, 'out')));
    case 'status components':
      return void write(await statusText(statusSocket, 'json'));
    case 'version':
      return void write(versionText(values));
    case 'sysinfo':
      return void write(sysinfoText(dataDir));
    case 'token create':
      return void write(`${await tokenCreate(p, runtimeConfig(p, values), values, statusSocket)}\n`);
    case 'token list':
      return void write(await tokenList(p, values, statusSocket));
    case 'token invalidate':
      return void write(await tokenInvalidate(p, positional, statusSocket));
    case 'kubeconfig admin':
      return void write(kubeconfigAdmin(p, runtimeConfig(p, values)));
    case 'kubeconfig create':
      return void write(await kubeconfigCreate(p, runtimeConfig(p, values), positional[0], values));
    case 'etcd member-list':
      return void write(await etcdMemberList(p));
    case 'etcd leave':
      return void write(await etcdLeave(p, runtimeConfig(p, values), values));
    case 'config create':
      return void write(defaultConfigYaml());
    case 'config validate':
      readConfig(values);
      return;
    case 'airgap list-images':
      return void write(airgapImages(readConfig(values), bool(values, 'all')));
  }
  throw new CommandError(`unknown command "${path}" for "k0s"`);
}

/** The images a node pulls with this config (the stand-in's defaults; see the README for their tags). */
function airgapImages(c: ClusterSettings, all: boolean): string {
  const { kube } = k0sVersion();
  const images = [
    c.pauseImage,
    `quay.io/k0sproject/kube-proxy:${kube}`,
    'quay.io/k0sproject/coredns:1.11.3',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.29.0',
    'registry.k8s.io/metrics-server/metrics-server:v0.7.1',
    'quay.io/k0sproject/kube-router:v1.6.1-iptables1.8.9-0',
    'quay.io/k0sproject/cni-node:1.3.0-k0s.0',
  ];
  if (all || c.nllb.enabled) images.push('quay.io/k0sproject/envoy-distroless:v1.29.4');
  return `${images.join('\n')}\n`;
}

// every failure is cobra's `Error: <message>` and status 1, as k0s's root command returns it
main().catch((e: Error) => fail(e.message));

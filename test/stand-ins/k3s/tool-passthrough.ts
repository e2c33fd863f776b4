// The multicall names: kubectl, crictl and ctr run the host's own binaries with k3s's defaults, skipping any
// candidate that is this stand-in again (its symlinks may sit earlier in PATH).
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CONTAINERD_SOCKET } from './containerd-run.js';
import { defaultDataDir, defaultKubeconfig } from './standin-paths.js';

function resolveReal(tool: string): string | undefined {
  const self = process.env.BERTH_STANDIN_SELF ? realpathSync(process.env.BERTH_STANDIN_SELF) : '';
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
    '/usr/sbin',
    '/sbin',
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      if (existsSync(candidate) && realpathSync(candidate) !== self) return candidate;
    } catch {
      // a dangling link in PATH is not a candidate
    }
  }
  return undefined;
}

export function runTool(tool: 'kubectl' | 'crictl' | 'ctr', args: string[]): void {
  const bin = resolveReal(tool);
  if (!bin) {
    process.stderr.write(`k3s: ${tool} is not bundled with this k3s stand-in and none was found in PATH\n`);
    process.exit(127);
  }
  const env = { ...process.env };
  delete env.BERTH_STANDIN_SELF;
  delete env.BERTH_STANDIN_ARGV0;
  if (tool === 'kubectl' && !env.KUBECONFIG && existsSync(defaultKubeconfig()))
    env.KUBECONFIG = defaultKubeconfig();
  if (tool === 'crictl') {
    const conf = join(env.K3S_DATA_DIR || defaultDataDir(), 'agent', 'etc', 'crictl.yaml');
    if (!env.CRI_CONFIG_FILE && existsSync(conf)) env.CRI_CONFIG_FILE = conf;
  }
  if (tool === 'ctr') {
    // k3s's ctr changes the flag defaults themselves, so --address/-n on the command line still win.
    env.CONTAINERD_ADDRESS ||= CONTAINERD_SOCKET;
    env.CONTAINERD_NAMESPACE ||= 'k8s.io';
  }
  const child = spawn(bin, args, { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

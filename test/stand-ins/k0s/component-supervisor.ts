// k0s runs its components (etcd, kube-apiserver, containerd, kubelet) as child processes from
// <data-dir>/bin and restarts one that exits, as its pkg/supervisor does. Children get SIGKILL when k0s
// dies (a parent-death signal set by setpriv), so a killed k0s leaves none behind; a stop sends SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { klog } from '../k3s/standin-log.js';

const RESTART_MS = 2_000;

function hasSetpriv(): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin')
    .split(delimiter)
    .some((d) => d && existsSync(join(d, 'setpriv')));
}

export class Component {
  private child: ChildProcess | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly bin: string,
    private args: string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  start(): void {
    this.stopping = false;
    const [cmd, argv] = hasSetpriv()
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', this.bin, ...this.args]]
      : [this.bin, this.args];
    klog.info(`Starting ${this.name}: ${this.bin} ${this.args.join(' ')}`);
    const child = spawn(cmd, argv, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const prefix = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) process.stderr.write(`${line} component=${this.name}\n`);
    };
    child.stdout?.on('data', prefix);
    child.stderr?.on('data', prefix);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.child === child) this.child = undefined;
        if (this.stopping) return;
        klog.warn(`${this.name} exited (${signal ?? `status ${code}`}), restarting in ${RESTART_MS / 1000}s`);
        this.timer = setTimeout(() => this.start(), RESTART_MS);
      });
      child.once('error', (e) => klog.error(`${this.name}: ${e.message}`));
    });
  }

  /** Restarts with new arguments (containerd after its config changed). */
  async restart(args = this.args): Promise<void> {
    await this.stop();
    this.args = args;
    this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}

// The kubelet's static pods: each manifest in staticPodPath runs as its first container's command on the
// host (etcd is the machine's /usr/bin/etcd, kube-apiserver the stand-in on PATH), restarted when it exits
// (restartPolicy Always, 2 s apart) and replaced when its manifest changes; the controller-manager and
// scheduler pods are served in process (control-plane-duties.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { join } from 'node:path';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { ControllerManagerDuties, healthEndpoint } from './control-plane-duties.js';

type Log = (l: string) => void;

interface Running {
  hash: string;
  pod: KubeObject;
  stop(): Promise<void>;
}

/** Where a container command's program is: etcd is Debian's, the rest come from PATH. */
function program(name: string): string {
  if (name === 'etcd' && existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  return name;
}

/**
 * The environment of a container's process: the API server stand-in reports the version of its pod's image
 * tag, as a real kube-apiserver container runs the version its image was built at.
 */
function containerEnv(pod: KubeObject): NodeJS.ProcessEnv {
  const image = String(pod.spec?.containers?.[0]?.image ?? '');
  const tag = /\/kube-apiserver:(v\d+\.\d+\.\d+)$/.exec(image)?.[1];
  return tag ? { ...process.env, KUBE_APISERVER_STANDIN_VERSION: tag } : process.env;
}

function runProcess(pod: KubeObject, argv: string[], log: Log): () => Promise<void> {
  let child: ChildProcess | undefined;
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const name = pod.metadata?.name ?? 'pod';
  const start = () => {
    log(`Starting static pod container ${name}: ${argv.join(' ')}`);
    const c = spawn(program(argv[0]), argv.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: containerEnv(pod),
    });
    child = c;
    c.on('error', (e) => log(`static pod ${name}: ${e.message}`));
    c.on('exit', (code, signal) => {
      if (stopped) return;
      log(`Container ${name} exited (${signal ?? code}); restarting in 2s`);
      restartTimer = setTimeout(start, 2_000);
    });
  };
  start();
  return async () => {
    stopped = true;
    if (restartTimer) clearTimeout(restartTimer);
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      c.kill('SIGTERM');
    });
  };
}

async function runInProcess(pod: KubeObject, command: string[], log: Log): Promise<() => Promise<void>> {
  const name = pod.metadata?.name;
  const bind = command.find((a) => a.startsWith('--bind-address='))?.split('=')[1] ?? '127.0.0.1';
  const port = name === 'kube-scheduler' ? 10259 : 10257;
  const servers: Server[] = [await healthEndpoint(name, bind, port)];
  const duties = name === 'kube-controller-manager' ? new ControllerManagerDuties(command, log) : undefined;
  duties?.start();
  log(`Serving ${name} health on https://${bind}:${port}/healthz`);
  return async () => {
    duties?.stop();
    for (const s of servers) await new Promise((r) => s.close(() => r(undefined)));
  };
}

export class StaticPods {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly log: Log,
  ) {}

  start(): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), 1_000);
  }

  pods(): KubeObject[] {
    return [...this.running.values()].map((r) => r.pod);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const r of this.running.values()) await r.stop();
    this.running.clear();
  }

  private async sync(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const files = existsSync(this.dir)
        ? readdirSync(this.dir).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.'))
        : [];
      const seen = new Set<string>();
      for (const f of files) {
        seen.add(f);
        const text = readFileSync(join(this.dir, f), 'utf8');
        const hash = createHash('sha256').update(text).digest('hex');
        const have = this.running.get(f);
        if (have?.hash === hash) continue;
        if (have) {
          this.log(`Static pod manifest ${f} changed; restarting its pod`);
          await have.stop();
          this.running.delete(f);
        }
        let pod: KubeObject;
        try {
          pod = (f.endsWith('.json') ? JSON.parse(text) : parseYamlSubset(text)) as KubeObject;
        } catch (e) {
          this.log(`Could not process manifest file ${f}: ${(e as Error).message}`);
          continue;
        }
        const c = pod.spec?.containers?.[0] ?? {};
        const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
        if (!argv.length) continue;
        const name = pod.metadata?.name;
        const stop =
          name === 'kube-controller-manager' || name === 'kube-scheduler'
            ? await runInProcess(pod, argv, this.log)
            : runProcess(pod, argv, this.log);
        this.running.set(f, { hash, pod, stop });
      }
      for (const [f, r] of this.running) {
        if (seen.has(f)) continue;
        this.log(`Static pod manifest ${f} removed; stopping its pod`);
        await r.stop();
        this.running.delete(f);
      }
    } catch (e) {
      this.log(`static pods: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}

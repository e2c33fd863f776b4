import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

// Runs the built CLI as a child process without blocking this process's event loop (tests may serve
// HTTP in-process while berth runs).

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BerthRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface StartedBerth {
  child: ChildProcess;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  done: Promise<BerthRun>;
}

export function startBerth(args: string[], env: NodeJS.ProcessEnv = {}, stdin = ''): StartedBerth {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, CI: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<BerthRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
  child.stdin.end(stdin);
  return { child, output: () => ({ stdout, stderr }), done };
}

export function runBerth(args: string[], env: NodeJS.ProcessEnv = {}, stdin = ''): Promise<BerthRun> {
  return startBerth(args, env, stdin).done;
}

/**
 * Starts berth, waits (polling, at most `timeoutMs`) until `ready()` says the work is under way, sends
 * one SIGINT, and returns how berth ended; `signalled` is false when berth ended before it was ready.
 */
export async function interruptBerth(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: () => boolean,
  timeoutMs = 60_000,
): Promise<BerthRun & { signalled: boolean }> {
  const run = startBerth(args, env);
  let exited = false;
  run.done.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!exited && Date.now() < deadline && !ready()) await sleep(20);
  const signalled = !exited && run.child.kill('SIGINT');
  // A berth that ignores the interrupt is stopped, so that the test fails instead of hanging.
  const guard = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  const r = await run.done;
  clearTimeout(guard);
  return { ...r, signalled };
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Runs the built CLI as a child process without blocking this process's event loop (tests may serve
// HTTP in-process while berth runs).

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BerthRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBerth(args: string[], env: NodeJS.ProcessEnv = {}, stdin = ''): Promise<BerthRun> {
  return new Promise((resolve, reject) => {
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
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

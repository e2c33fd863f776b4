import { spawn } from 'node:child_process';
import { EnvironmentError } from '../util/errors.js';
import { log } from '../util/log.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a local program to completion without a shell; never throws for a non-zero exit. */
export function runProgram(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Runs a local program and fails with one line naming what was being done when it exits non-zero. */
export async function mustRun(what: string, cmd: string, args: string[], input?: string): Promise<string> {
  log.debug(`sandbox: ${cmd} ${args.join(' ')}`);
  const r = await runProgram(cmd, args, input);
  if (r.code !== 0) {
    const detail = lastLine(r.stderr) || lastLine(r.stdout) || `exit status ${r.code}`;
    throw new EnvironmentError(`${what}: ${cmd} failed: ${detail}`);
  }
  return r.stdout;
}

export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) return lines[i] as string;
  return '';
}

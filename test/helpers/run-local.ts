// Runs what berth runs on a host on this machine instead, through the production action script, so that
// unit tests execute exactly the shell a host would get.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HostRunner } from '../../src/apply/phase.js';
import { actionScript, actionShell, type HostAction } from '../../src/host/action.js';

/** Runs `script` the way a host gets it (on the stdin of actionShell); returns stdout. */
function runScript(script: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('sh', ['-c', actionShell.slice('sh -c '.length).slice(1, -1)], {
    encoding: 'utf8',
    input: script,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runLocal(action: HostAction): string {
  return runScript(actionScript(action));
}

export function sh(command: string): string {
  return execFileSync('sh', ['-e', '-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Exit status of a command, for status checks. */
export function shStatus(command: string): number {
  try {
    execFileSync('sh', ['-e', '-c', command], { stdio: 'ignore' });
    return 0;
  } catch (err) {
    return (err as { status?: number }).status ?? 1;
  }
}

/** Parses a command with `sh -n`, throwing on a syntax error. */
export function shSyntax(command: string): void {
  execFileSync('sh', ['-n', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * The engine's runner for tests: every "host" is this machine, with BERTH_HOST set to the host's address so
 * that a test's steps can keep each host's files apart; copies go to `root`/<host>/<dest>.
 */
export function localRunner(root: string, ran: string[] = []): HostRunner {
  return {
    async run(host, script, onLine) {
      ran.push(host);
      for (const line of runScript(script, { ...process.env, BERTH_HOST: host }).split('\n')) onLine(line);
    },
    async copy(copy, hosts) {
      for (const h of hosts) {
        const dest = join(root, h, copy.to);
        rmSync(dest, { recursive: true, force: true });
        mkdirSync(dest, { recursive: true });
        cpSync(copy.from, dest, { recursive: true });
      }
      return { failed: new Map(), bytesSent: 0 };
    },
    async fetch(host, path) {
      return readFileSync(join(root, host, path), 'utf8');
    },
  };
}

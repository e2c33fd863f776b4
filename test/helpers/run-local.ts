// Runs a HostAction on this machine, the way a phase runs it on a host: files first, then each command
// with `sh -e -c`, stopping at the first failure.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostAction } from '../../src/host/action.js';

export function runLocal(action: HostAction): string {
  for (const f of action.files ?? []) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.content);
    chmodSync(f.path, f.mode ?? 0o644);
  }
  let out = '';
  for (const c of action.commands ?? []) out += sh(c);
  return out;
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

/** A HostAction as one sh script (for `ssh host sh -s`): files as here-documents, then each command under `sh -e -c`. */
export function actionScript(action: HostAction): string {
  const q = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
  const lines = ['set -e'];
  for (const f of action.files ?? []) {
    let tag = 'BERTH_FILE';
    while (f.content.includes(tag)) tag += '_';
    const body = f.content.endsWith('\n') ? f.content : `${f.content}\n`;
    lines.push(`mkdir -p "$(dirname ${q(f.path)})"`, `cat > ${q(f.path)} <<'${tag}'\n${body}${tag}`);
    lines.push(`chmod ${(f.mode ?? 0o644).toString(8)} ${q(f.path)}`);
  }
  for (const c of action.commands ?? []) lines.push(`sh -e -c ${q(c)}`);
  return `${lines.join('\n')}\n`;
}

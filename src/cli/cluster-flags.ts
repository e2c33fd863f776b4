import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';

// Flags every command that changes a cluster shares.

export interface ApplyFlags {
  dryRun?: boolean;
  acceptHostKey?: boolean;
  concurrency?: string;
  readyTimeout?: string;
}

export function addApplyFlags(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--accept-host-key', 'accept and record host keys that differ from the recorded ones')
    .option('--concurrency <n>', 'hosts worked on at once', '20')
    .option('--ready-timeout <sec>', 'seconds to wait for every node to be Ready', '300');
}

function whole(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} ${v}: give a whole number above 0`);
  return Number(v);
}

export function applyOptions(flags: ApplyFlags, signal?: AbortSignal) {
  return {
    dryRun: !!flags.dryRun,
    acceptNewHostKey: !!flags.acceptHostKey,
    concurrency: whole('--concurrency', flags.concurrency, 20),
    readyTimeout: whole('--ready-timeout', flags.readyTimeout, 300),
    signal,
  };
}

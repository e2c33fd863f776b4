import { readdir, readFile } from 'node:fs/promises';
import { EnvironmentError } from '../util/errors.js';
import { netnsExists } from './network.js';
import { runProgram } from './run.js';

/** True while a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes in a host's network namespace, as the machine numbers them. */
export async function netnsPids(netns: string): Promise<number[]> {
  if (!(await netnsExists(netns))) return [];
  const r = await runProgram('ip', ['netns', 'pids', netns]);
  return r.stdout
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

/** pid -> [parent pid, state letter] for every process, from /proc/PID/stat. */
async function processTable(): Promise<Map<number, [number, string]>> {
  const table = new Map<number, [number, string]>();
  const entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    entries.map(async (e) => {
      try {
        const stat = await readFile(`/proc/${e}/stat`, 'utf8');
        // The command name (field 2) may contain spaces and parentheses; fields after it do not.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        table.set(Number(e), [Number(rest[1]), rest[0] as string]);
      } catch {
        // the process ended while we looked
      }
    }),
  );
  return table;
}

/** `roots` plus every descendant: a container started inside a host has its own netns but is a child. */
function withDescendants(roots: number[], table: Map<number, [number, string]>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, [ppid]] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Kills every process of a host (all in its network namespace, and their descendants) by PID and waits
 * until none of them runs any more. Repeats while new ones appear.
 */
export async function killHostProcesses(netns: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 20; round++) {
    const roots = await netnsPids(netns);
    if (roots.length === 0) return;
    const targets = withDescendants(roots, await processTable());
    for (const pid of targets) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A zombie has already released its namespaces and mounts; reaping it is its parent's business
    // (often init, which may take a second or two).
    while (Date.now() < deadline) {
      const table = await processTable();
      if (![...targets].some((p) => table.has(p) && table.get(p)?.[1] !== 'Z')) break;
      await sleep(20);
    }
    if (Date.now() >= deadline) break;
  }
  const left = await netnsPids(netns);
  if (left.length > 0) {
    throw new EnvironmentError(
      `network namespace ${netns}: processes ${left.join(', ')} did not end after SIGKILL; run berth sandbox down again`,
    );
  }
}

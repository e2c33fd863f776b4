import type { HostStep } from '../runtime/types.js';
import type { Journal } from './journal.js';
import type { PlannedCluster } from './planned-cluster.js';

// An apply is one list of phases (apply-cluster.ts). A phase that changes hosts returns its plan: the
// host steps it needs, each with a stable id for the journal. It never connects anywhere itself; the
// engine (engine.ts) skips what the journal shows done, prints the rest for --dry-run or runs and
// journals it, so a dry run shows exactly the steps a run executes. A check phase only looks (wait for
// the nodes) and runs after the changes.

/** A local tree put in place on the step's host before its files and commands (sent once, relayed). */
export interface TreeCopy {
  /** Directory on this machine. */
  from: string;
  /** Directory on the host; it is replaced whole. */
  to: string;
  /** Top-level names of `from` left out. */
  without?: string[];
  /** Top-level names of an existing `to` kept when the tree lacks them. */
  keep?: string[];
  /** What is sent, for log lines: rootfs, registry. */
  what: string;
}

export interface PlannedStep extends HostStep {
  copies?: TreeCopy[];
  /** A failure is a warning and the plan goes on (a clean hook of a host being reset). */
  mayFail?: boolean;
  /** On success the journal forgets every step of the host (it has been reset). */
  forgetsHost?: boolean;
}

export interface Plan {
  steps: PlannedStep[];
  /**
   * parallel: hosts at once (bounded), each host's steps in order, steps whose outputs others use first;
   * sequential: one step after another (etcd membership changes must not overlap).
   */
  order: 'parallel' | 'sequential';
}

export interface ApplyOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Hosts worked on at once. */
  concurrency?: number;
  /** Seconds to wait for every node to be Ready. */
  readyTimeout?: number;
  /** Application images (name or reference) whose CMD runs again even when the journal shows it done. */
  rerunApps?: readonly string[];
  /** Seconds to wait for the workloads of the applications to be rolled out. */
  appTimeout?: number;
}

/** How the engine (engine.ts) reaches hosts: over SSH in berth (host-run.ts), locally in unit tests. */
export interface HostRunner {
  /** Runs an action script as root on `host`, passing each line of its output to `onLine` as it comes. */
  run(host: string, script: string, onLine: (line: string) => void): Promise<void>;
  /** Puts a local tree on every host of `hosts`; a host's failure comes back in the map, never thrown. */
  copy(copy: TreeCopy, hosts: string[]): Promise<{ failed: Map<string, Error>; bytesSent: number }>;
  /** The content of a file on `host`, read as root. */
  fetch(host: string, path: string): Promise<string>;
}

export interface Engine {
  journal: Journal;
  runner: HostRunner;
  options: ApplyOptions;
}

export interface ChangePhase {
  readonly title: string;
  plan(cluster: PlannedCluster): Plan | Promise<Plan>;
}

export interface CheckPhase {
  readonly title: string;
  /** What the check does, for --dry-run. */
  readonly summary: (cluster: PlannedCluster) => string;
  check(cluster: PlannedCluster, engine: Engine): Promise<void>;
  /** False when the cluster gives the check nothing to look at (no application images): it is skipped. */
  needed?: (cluster: PlannedCluster) => boolean;
}

export type Phase = ChangePhase | CheckPhase;

export interface PhaseReport {
  title: string;
  outcome: 'ran' | 'skipped' | 'failed' | 'planned';
  ms: number;
  /** The steps planned (dry run) or run, one line each. */
  steps: string[];
}

/** A step as one line, the same in a dry run and in a run: `HOST ID: description`. */
export function stepLine(s: HostStep): string {
  return `${s.host} ${s.id}: ${s.description}`;
}

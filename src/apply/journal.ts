import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { registerSecret } from '../util/log.js';
import { decryptSecret, encryptSecret } from '../util/secrets.js';

// The journal records steps completed on each host, so that an interrupted or failed apply resumes where
// it stopped. A step is keyed by its name and a digest of its inputs: when the inputs change (new image,
// new config) the step runs again. Lines are appended with one write each; a line cut short by a crash is
// ignored on reading, so the journal is never corrupt, only possibly one step behind (and every step
// checks before it acts, so running it again is safe). A step's outputs (values it read back from its
// host) are kept with its entry, encrypted, so that a later apply can use them without running it again.
// Forgetting appends too, so a cluster whose hosts come and go would grow its journal for ever: after a
// successful apply it is compacted, rewritten atomically with one line per step the current hosts have done.

export interface JournalEntry {
  host: string;
  step: string;
  inputs: string;
  at: string;
  /** The step's outputs as one encrypted JSON object. */
  outputs?: string;
}

export function digestInputs(inputs: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(inputs ?? null))
    .digest('hex')
    .slice(0, 16);
}

export class Journal {
  private readonly done = new Map<string, JournalEntry>();
  /** Outputs of steps that run every time (never journaled), for the rest of this apply. */
  private readonly fresh = new Map<string, Record<string, string>>();
  /** The file ends in a line torn by a crash: the next append must start on a fresh line. */
  private torn = false;
  /** Lines in the file, torn, forgotten and superseded ones included. */
  private lines = 0;

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<Journal> {
    const journal = new Journal(path);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    journal.torn = text.length > 0 && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      journal.lines++;
      try {
        const entry = JSON.parse(line) as JournalEntry & { undo?: boolean };
        const key = Journal.key(entry.host, entry.step);
        if (entry.undo) journal.done.delete(key);
        else journal.done.set(key, entry);
      } catch {
        // A line torn by a crash: the step it recorded will simply run again.
      }
    }
    return journal;
  }

  private static key(host: string, step: string): string {
    return `${host}\u0000${step}`;
  }

  /** True when `step` completed on `host` with the same inputs. */
  isDone(host: string, step: string, inputs: string): boolean {
    return this.done.get(Journal.key(host, step))?.inputs === inputs;
  }

  async record(
    host: string,
    step: string,
    inputs: string,
    outputs: Record<string, string> = {},
  ): Promise<void> {
    const entry: JournalEntry = { host, step, inputs, at: new Date().toISOString() };
    if (Object.keys(outputs).length > 0) entry.outputs = encryptSecret(JSON.stringify(outputs));
    await this.append([JSON.stringify(entry)]);
    this.done.set(Journal.key(host, step), entry);
  }

  /** Keeps the outputs of a step that is never journaled, for the steps after it in this apply. */
  remember(host: string, step: string, outputs: Record<string, string>): void {
    this.fresh.set(Journal.key(host, step), outputs);
  }

  /** What `step` on `host` read back when it last ran, in this apply or a journaled earlier one. */
  outputs(host: string, step: string): Record<string, string> | undefined {
    const key = Journal.key(host, step);
    const fresh = this.fresh.get(key);
    if (fresh) return fresh;
    const stored = this.done.get(key)?.outputs;
    if (!stored) return undefined;
    const values = JSON.parse(decryptSecret(stored)) as Record<string, string>;
    for (const v of Object.values(values)) registerSecret(v);
    return values;
  }

  /**
   * Forgets one step of `host`, so that it runs again (`berth run APP --force`); with `inMemory` only for
   * this apply (a dry run writes nothing).
   */
  async forgetStep(host: string, step: string, opts: { inMemory?: boolean } = {}): Promise<void> {
    const key = Journal.key(host, step);
    if (!this.done.has(key)) return;
    if (!opts.inMemory)
      await this.append([
        JSON.stringify({ host, step, inputs: '', at: new Date().toISOString(), undo: true }),
      ]);
    this.done.delete(key);
  }

  /** Forgets every step of `host` (after a reset or delete of that host). */
  async forgetHost(host: string): Promise<void> {
    const steps = [...this.done.values()].filter((e) => e.host === host);
    if (steps.length === 0) return;
    await this.append(
      steps.map((e) =>
        JSON.stringify({ host, step: e.step, inputs: '', at: new Date().toISOString(), undo: true }),
      ),
    );
    for (const e of steps) this.done.delete(Journal.key(host, e.step));
  }

  private async append(lines: string[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const prefix = this.torn ? '\n' : '';
    await appendFile(this.path, `${prefix}${lines.join('\n')}\n`, { mode: 0o600 });
    this.torn = false;
    this.lines += lines.length;
  }

  /**
   * Drops the steps of every host not in `hosts`, then, when the file holds anything else than one line
   * per remaining step, rewrites it with just those (atomically: a crash leaves the old file or the new).
   * Returns whether it rewrote the file.
   */
  async compact(hosts: Iterable<string>): Promise<boolean> {
    const keep = new Set(hosts);
    for (const [key, e] of this.done) if (!keep.has(e.host)) this.done.delete(key);
    const live = [...this.done.values()];
    if (this.lines === live.length && !this.torn) return false;
    await writeFileAtomic(this.path, live.map((e) => `${JSON.stringify(e)}\n`).join(''), 0o600);
    this.lines = live.length;
    this.torn = false;
    return true;
  }

  entries(): JournalEntry[] {
    return [...this.done.values()];
  }
}

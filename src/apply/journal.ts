import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

// The journal records steps completed on each host, so that an interrupted or failed apply resumes where
// it stopped. A step is keyed by its name and a digest of its inputs: when the inputs change (new image,
// new config) the step runs again. Lines are appended with one write each; a line cut short by a crash is
// ignored on reading, so the journal is never corrupt, only possibly one step behind (and every step
// checks before it acts, so running it again is safe).

export interface JournalEntry {
  host: string;
  step: string;
  inputs: string;
  at: string;
}

export function digestInputs(inputs: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(inputs ?? null))
    .digest('hex')
    .slice(0, 16);
}

export class Journal {
  private readonly done = new Map<string, JournalEntry>();
  /** The file ends in a line torn by a crash: the next append must start on a fresh line. */
  private torn = false;

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

  async record(host: string, step: string, inputs: string): Promise<void> {
    const entry: JournalEntry = { host, step, inputs, at: new Date().toISOString() };
    await this.append([JSON.stringify(entry)]);
    this.done.set(Journal.key(host, step), entry);
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
  }

  entries(): JournalEntry[] {
    return [...this.done.values()];
  }
}

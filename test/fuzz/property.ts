// The one property every parser of outside input must have: for any input it either returns or throws
// berth's typed error with one of the exit codes that kind of input may give (never another exception,
// never a hang). Targets say which codes they may give; the runner counts parsed vs refused inputs.
import fc from 'fast-check';
import { BerthError } from '../../src/util/errors.js';

export interface FuzzTarget<T = unknown> {
  name: string;
  inputs: fc.Arbitrary<T>;
  /** Feeds one input to the parser (and checks what it returned, where there is more to check). */
  run(input: T): Promise<void> | void;
  /** Exit codes of the BerthErrors this parser may refuse an input with. */
  codes: readonly number[];
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

export interface FuzzStats {
  name: string;
  cases: number;
  parsed: number;
  refused: number;
  ms: number;
}

const perCaseMs = 5000;

async function withinTime(p: Promise<void> | void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${perCaseMs} ms (a hang)`)), perCaseMs);
  });
  try {
    await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `cases` inputs through the target; throws fast-check's report (with the shrunk input) on failure. */
export async function fuzz<T>(target: FuzzTarget<T>, cases: number, seed?: number): Promise<FuzzStats> {
  const start = Date.now();
  let parsed = 0;
  let refused = 0;
  await target.setup?.();
  try {
    await fc.assert(
      fc.asyncProperty(target.inputs, async (input) => {
        try {
          await withinTime(target.run(input));
          parsed++;
        } catch (err) {
          if (err instanceof BerthError && target.codes.includes(err.exitCode)) {
            if (err.message.includes('\n')) throw new Error(`error message spans lines: ${err.message}`);
            refused++;
            return;
          }
          throw err;
        }
      }),
      { numRuns: cases, seed },
    );
  } finally {
    await target.teardown?.();
  }
  return { name: target.name, cases, parsed, refused, ms: Date.now() - start };
}

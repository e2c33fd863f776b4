// The long form of test/unit/fuzz.test.ts: 100,000 cases per parser of outside input (BENCH_FUZZ_CASES to
// change it), a table of what was parsed and refused, and the first failure of each parser with the seed
// that replays it. Exits 1 if any parser failed the property.
import { fuzz } from '../test/fuzz/property.js';
import { fuzzTargets } from '../test/fuzz/targets.js';

const cases = Number(process.env.BENCH_FUZZ_CASES ?? 100_000);
let failed = 0;
console.log(
  `${'parser'.padEnd(32)} ${'cases'.padStart(8)} ${'parsed'.padStart(8)} ${'refused'.padStart(8)}  time`,
);
for (const target of fuzzTargets) {
  try {
    const s = await fuzz(target, cases);
    console.log(
      `${s.name.padEnd(32)} ${String(s.cases).padStart(8)} ${String(s.parsed).padStart(8)} ${String(s.refused).padStart(8)}  ${(s.ms / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    failed++;
    console.log(`${target.name.padEnd(32)} FAILED\n${(err as Error).message}`);
  }
}
console.log(failed === 0 ? 'every parser held the property' : `${failed} parser(s) failed`);
process.exitCode = failed === 0 ? 0 : 1;

// Property tests over every parser of outside input (test/fuzz/targets.ts), a bounded number of cases each
// (BERTH_FUZZ_CASES, default 300); bench/fuzz.ts runs 100,000 per parser from a random seed. Here the seed is
// fixed so that a test run gives the same verdict on the same code (BERTH_FUZZ_SEED=random draws one, a
// number replays one). A failure prints fast-check's shrunk input and its seed; what it finds is fixed and
// kept as a plain case in fuzz-findings.test.ts.
import { test } from 'node:test';
import { fuzz } from '../fuzz/property.js';
import { fuzzTargets } from '../fuzz/targets.js';

const cases = Number(process.env.BERTH_FUZZ_CASES ?? 300);
const seedSetting = process.env.BERTH_FUZZ_SEED ?? '20261201';
const seed = seedSetting === 'random' ? undefined : Number(seedSetting);

for (const target of fuzzTargets) {
  test(`fuzz: ${target.name} parses or refuses with a typed error (${cases} cases)`, async () => {
    const s = await fuzz(target, cases, seed);
    console.log(`${s.name}: ${s.parsed} parsed, ${s.refused} refused in ${s.ms} ms`);
  });
}

// Property tests over every parser of outside input (test/fuzz/targets.ts), a bounded number of cases each
// (BERTH_FUZZ_CASES, default 300); bench/fuzz.ts runs 100,000 per parser. A failure prints fast-check's
// shrunk input and the seed that replays it (BERTH_FUZZ_SEED).
import { test } from 'node:test';
import { fuzz } from '../fuzz/property.js';
import { fuzzTargets } from '../fuzz/targets.js';

const cases = Number(process.env.BERTH_FUZZ_CASES ?? 300);
const seed = process.env.BERTH_FUZZ_SEED ? Number(process.env.BERTH_FUZZ_SEED) : undefined;

for (const target of fuzzTargets) {
  test(`fuzz: ${target.name} parses or refuses with a typed error (${cases} cases)`, async () => {
    const s = await fuzz(target, cases, seed);
    console.log(`${s.name}: ${s.parsed} parsed, ${s.refused} refused in ${s.ms} ms`);
  });
}

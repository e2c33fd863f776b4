// The fault campaign's short form on k0s (test/chaos/faults-case.ts).
import { test } from 'node:test';
import { campaignCase } from './faults-case.js';

const rootSkip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

test('k0s: after SIGKILLs of run and upgrade and a reboot, the next run converges and no state file is corrupt', {
  skip: rootSkip,
}, async (t) => {
  await campaignCase(t, 'k0s', 't-chaos-k0s', { kills: 2, linkCut: false, reboot: true, injected: 3 });
});

// The fault campaign's short form on k3s (test/chaos/faults-case.ts).
import { test } from 'node:test';
import { campaignCase } from './faults-case.js';

test('k3s: after SIGKILLs, a cut link and a reboot, the next run converges and no state file is corrupt', async (t) => {
  await campaignCase(t, 'k3s', 't-chaos', { kills: 3, linkCut: true, reboot: true, injected: 5 });
});

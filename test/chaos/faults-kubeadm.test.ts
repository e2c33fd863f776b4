// The fault campaign's short form on kubeadm (test/chaos/faults-case.ts).
import { test } from 'node:test';
import { testInit } from '../helpers/sandbox.js';
import { campaignCase } from './faults-case.js';

const rootSkip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

test('kubeadm: after SIGKILLs of run and upgrade, a cut link and a reboot, the next run converges and no state file is corrupt', {
  skip: rootSkip || (testInit === 'sshd' && "the example kubeadm image's check hook needs systemd"),
}, async (t) => {
  await campaignCase(t, 'kubeadm', 't-chaos-kadm', { kills: 2, linkCut: true, reboot: true, injected: 4 });
});

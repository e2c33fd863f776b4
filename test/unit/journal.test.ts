import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestInputs, Journal } from '../../src/apply/journal.js';
import { type Phase, runPhases } from '../../src/apply/phase.js';

test('journal remembers steps per host and inputs, and survives a torn last line', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'berth-journal-')), 'journal.jsonl');
  const j = await Journal.open(path);
  const inputs = digestInputs({ image: 'a' });
  assert.equal(j.isDone('h1', 'copy-rootfs', inputs), false);
  await j.record('h1', 'copy-rootfs', inputs);
  await j.record('h2', 'copy-rootfs', inputs);
  appendFileSync(path, '{"host":"h3","step":"copy-ro');
  const again = await Journal.open(path);
  assert.equal(again.isDone('h1', 'copy-rootfs', inputs), true);
  assert.equal(
    again.isDone('h1', 'copy-rootfs', digestInputs({ image: 'b' })),
    false,
    'changed inputs rerun',
  );
  assert.equal(again.isDone('h3', 'copy-rootfs', inputs), false);
  await again.forgetHost('h1');
  const third = await Journal.open(path);
  assert.equal(third.isDone('h1', 'copy-rootfs', inputs), false);
  assert.equal(third.isDone('h2', 'copy-rootfs', inputs), true);
});

test('phases run in order, skip when nothing to do, and stop at a failure', async () => {
  const ran: string[] = [];
  const phase = (title: string, should: boolean, fail = false): Phase<null> => ({
    title,
    shouldRun: () => should,
    run: async () => {
      ran.push(title);
      if (fail) throw new Error(`${title} broke`);
    },
    dryRun: () => [`would ${title}`],
  });
  const reports = await runPhases([phase('a', true), phase('b', false), phase('c', true)], null);
  assert.deepEqual(ran, ['a', 'c']);
  assert.deepEqual(
    reports.map((r) => r.outcome),
    ['ran', 'skipped', 'ran'],
  );
  ran.length = 0;
  await assert.rejects(runPhases([phase('a', true, true), phase('c', true)], null), /a broke/);
  assert.deepEqual(ran, ['a']);
  ran.length = 0;
  const planned = await runPhases([phase('a', true)], null, { dryRun: true });
  assert.deepEqual(ran, []);
  assert.deepEqual(planned[0]?.plan, ['would a']);
});

test('read-only phases run in a dry run so that later plans can use what they learn', async () => {
  const seen: string[] = [];
  const facts: Phase<string[]> = {
    title: 'facts',
    readOnly: true,
    shouldRun: () => true,
    run: async (ctx) => {
      ctx.push('learned');
    },
    dryRun: () => ['never printed'],
  };
  const change: Phase<string[]> = {
    title: 'change',
    shouldRun: () => true,
    run: async () => {
      throw new Error('must not run in a dry run');
    },
    dryRun: (ctx) => [`would act on ${ctx.join(',')}`],
  };
  const reports = await runPhases([facts, change], seen, { dryRun: true });
  assert.deepEqual(seen, ['learned']);
  assert.deepEqual(reports[1]?.plan, ['would act on learned']);
});

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestInputs, Journal } from '../../src/apply/journal.js';

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

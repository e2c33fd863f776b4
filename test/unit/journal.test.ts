import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestInputs, Journal } from '../../src/apply/journal.js';
import { testDir } from '../helpers/test-dir.js';

test('journal remembers steps per host and inputs, and survives a torn last line', async (t) => {
  const path = join(testDir(t, 'berth-journal-'), 'journal.jsonl');
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

test('compaction keeps one line per step of the current hosts, and the journal reads the same after it', async (t) => {
  const path = join(testDir(t, 'berth-journal-'), 'journal.jsonl');
  const j = await Journal.open(path);
  const a = digestInputs({ image: 'a' });
  const b = digestInputs({ image: 'b' });
  // what 20 add/delete cycles of one node leave: its steps recorded and forgotten, a master step re-run
  for (let cycle = 0; cycle < 20; cycle++) {
    await j.record('m1', 'balancer', digestInputs({ cycle }));
    await j.record('n1', 'rootfs', a);
    await j.record('n1', 'join', b, { token: 'secret' });
    await j.forgetHost('n1');
  }
  await j.record('m1', 'init', a, { ca: 'hash' });
  await j.record('gone', 'rootfs', a);
  appendFileSync(path, '{"host":"m1","step":"to');
  const grown = readFileSync(path, 'utf8').split('\n').length;

  const reopened = await Journal.open(path);
  assert.equal(await reopened.compact(['m1', 'n2']), true);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  assert.ok(grown > 80, `${grown} lines before`);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { step: string }).step).sort(), ['balancer', 'init']);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(await reopened.compact(['m1', 'n2']), false, 'nothing left to drop: no rewrite');

  const after = await Journal.open(path);
  assert.equal(after.isDone('m1', 'balancer', digestInputs({ cycle: 19 })), true);
  assert.equal(after.isDone('m1', 'init', a), true);
  assert.deepEqual(after.outputs('m1', 'init'), { ca: 'hash' });
  assert.equal(after.isDone('gone', 'rootfs', a), false, 'a host no longer in the cluster is dropped');
  assert.equal(after.isDone('n1', 'join', b), false);
  await after.record('n1', 'join', b);
  assert.equal(
    (await Journal.open(path)).isDone('n1', 'join', b),
    true,
    'appends after a compaction read back',
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addEdit } from '../../src/apply/scale.js';
import { UsageError } from '../../src/util/errors.js';

const hosts = [
  { ips: ['10.0.0.2'], roles: ['master' as const] },
  { ips: ['10.0.0.3'], roles: ['node' as const] },
];
const present = new Map<string, readonly string[]>([
  ['10.0.0.2', ['master']],
  ['10.0.0.3', ['node']],
]);

test('add appends the named hosts as groups of their role', () => {
  const out = addEdit('c')(
    hosts,
    { masters: [], nodes: ['10.0.0.4', '10.0.0.5'] },
    { present, unfinished: false },
  );
  assert.deepEqual(out, [...hosts, { ips: ['10.0.0.4', '10.0.0.5'], roles: ['node'] }]);
});

test('add refuses a host already in a cluster whose last apply finished', () => {
  assert.throws(
    () => addEdit('c')(hosts, { masters: [], nodes: ['10.0.0.3'] }, { present, unfinished: false }),
    (err) => err instanceof UsageError && err.message === '10.0.0.3 is already in cluster c',
  );
});

test('add run again after it was interrupted resumes: the host it was adding stays where it is', () => {
  const out = addEdit('c')(
    hosts,
    { masters: [], nodes: ['10.0.0.3', '10.0.0.4'] },
    { present, unfinished: true },
  );
  assert.deepEqual(out, [...hosts, { ips: ['10.0.0.4'], roles: ['node'] }]);
  // in another role it is still a mistake
  assert.throws(
    () => addEdit('c')(hosts, { masters: ['10.0.0.3'], nodes: [] }, { present, unfinished: true }),
    UsageError,
  );
});

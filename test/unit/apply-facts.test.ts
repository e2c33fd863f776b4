import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFacts } from '../../src/apply/facts.js';

test('host facts are read from the probe output', () => {
  const f = parseFacts(
    [
      'hostname=node-1',
      'arch=x86_64',
      'os=debian 12',
      'time=1000',
      'listen=1A0B',
      'listen=0016',
      'noise',
    ].join('\n'),
    990,
  );
  assert.equal(f.hostname, 'node-1');
  assert.equal(f.arch, 'amd64');
  assert.equal(f.os, 'debian 12');
  assert.equal(f.clockSkew, 10);
  assert.deepEqual(
    [...f.listening].sort((a, b) => a - b),
    [22, 6667],
  );
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sandboxRunArgs } from '../../src/apply/sandbox-hosts.js';
import { writeRecord } from '../../src/sandbox/store.js';
import { UsageError } from '../../src/util/errors.js';
import { encryptSecret } from '../../src/util/secrets.js';

// `berth run --sandbox S --masters N --nodes M` picks hosts from the sandbox's record; asking for more
// hosts than it has is a usage error, not a smaller cluster.

test('run --sandbox: counts beyond the sandbox hosts are refused, counts within it pick hosts in order', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 't-sb-args-'));
  const saved = process.env.BERTH_HOME;
  process.env.BERTH_HOME = home;
  t.after(() => {
    process.env.BERTH_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });
  const host = (i: number) => ({
    name: `t-sb-${i}`,
    ip: `10.210.99.${i + 1}`,
    port: 22,
    netns: `berth-t-sb-${i}`,
    veth: `bv-t-sb-${i}`,
    rootPassword: encryptSecret('root-pass'),
    user: 'berth',
    userPassword: encryptSecret('user-pass'),
    hostKey: '',
  });
  await writeRecord({
    version: 1,
    name: 't-sb',
    id: 'abcd',
    subnet: '10.210.99.0/24',
    gateway: '10.210.99.254',
    bridge: 'bb-t-sb',
    createdNetnsDir: false,
    state: 'up',
    hosts: [host(1), host(2)],
  });
  const args = { images: ['t/x:1'] };
  await assert.rejects(sandboxRunArgs('t-sb', { ...args, masters: '5' }), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /^--masters 5: sandbox t-sb has 2 hosts/);
    return true;
  });
  await assert.rejects(
    sandboxRunArgs('t-sb', { ...args, masters: '1', nodes: '2' }),
    /--masters 1 --nodes 2: sandbox t-sb has 2 hosts/,
  );
  await assert.rejects(sandboxRunArgs('t-sb', { ...args, nodes: '2' }), /sandbox t-sb has 2 hosts/);
  const ok = await sandboxRunArgs('t-sb', { ...args, masters: '1', nodes: '1' });
  assert.equal(ok.masters, '10.210.99.2');
  assert.equal(ok.nodes, '10.210.99.3');
  const all = await sandboxRunArgs('t-sb', { ...args, masters: '2' });
  assert.equal(all.masters, '10.210.99.2,10.210.99.3');
  assert.equal(all.nodes, undefined);
});

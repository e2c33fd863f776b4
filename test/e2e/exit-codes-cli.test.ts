// README's exit codes that need no host, each from a real berth process: 1 for an error berth did not
// anticipate (a fault injected into the process stands in for a bug), 4 for a program berth needs that is
// missing, 9 for a cluster, sandbox, image or mount berth does not know. Exit codes that need hosts are checked where their
// causes are: 5, 6, 7, 10 in exit-codes-ssh, 130 in interrupt-ssh and interrupt-registry, 10 of an apply
// in cluster-apps, 4 of a host in another cluster in host-claims.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const fault = fileURLToPath(new URL('../helpers/internal-fault.js', import.meta.url));

test('exit codes 1, 4 and 9 from a real berth process', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 't-exit-cli-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const berth = (args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []) =>
    spawnSync(process.execPath, [...nodeArgs, bin, ...args], {
      env: { ...process.env, BERTH_HOME: home, CI: '1', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const lines = (text: string) => text.split('\n').filter(Boolean);

  await t.test('1: an unanticipated error is one line and a hint, the stack only with --debug', () => {
    const env = { BERTH_TEST_FAULT_FILE: join(home, 'images', 'index.json') };
    const r = berth(['images'], env, ['--import', fault]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      `berth: internal error: injected fault reading ${env.BERTH_TEST_FAULT_FILE}`,
      'berth: run again with --debug for a stack trace',
    ]);
    const debug = berth(['images', '--debug'], env, ['--import', fault]);
    assert.equal(debug.status, 1, debug.stderr);
    assert.match(debug.stderr, /^berth: internal error: injected fault/m);
    assert.match(debug.stderr, /^debug: TypeError: injected fault[^\n]*\n\s+at /m);
  });

  await t.test('4: a program berth needs is missing', () => {
    const authfile = join(home, 'config.json');
    writeFileSync(authfile, '{"credsStore": "berth-test-absent"}\n');
    const r = berth(['logout', '127.0.0.1:5999', '--authfile', authfile]);
    assert.equal(r.status, 4, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      'berth: docker-credential-berth-test-absent not found: install it or remove it from the docker config',
    ]);
  });

  await t.test('9: a cluster, a sandbox, an image berth does not know', () => {
    for (const args of [
      ['status', '--cluster', 'no-such-cluster'],
      ['kubeconfig', '--cluster', 'no-such-cluster'],
      ['sandbox', 'down', '--name', 'no-such-sandbox'],
      ['inspect', 'no/such:image'],
      ['umount', 'no-such-mount'],
    ]) {
      const r = berth(args);
      assert.equal(r.status, 9, `berth ${args.join(' ')}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `berth ${args.join(' ')}: ${r.stderr}`);
    }
  });
});

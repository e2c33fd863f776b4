// A host already in one cluster is refused by another cluster's run before anything is touched (the
// addresses are loopback ones, so even a wrong pass through would only reach this machine).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testDir } from '../helpers/test-dir.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));

test("a host in cluster a is refused by cluster b's run, naming both", (t) => {
  const home = testDir(t, 'berth-claims-');
  const env = { ...process.env, BERTH_HOME: home, BERTH_SSH_PASSWORD: 'x' };
  const gen = spawnSync(
    process.execPath,
    [
      bin,
      'gen',
      'example/k3s:v1',
      '--masters',
      '127.0.0.77',
      '--nodes',
      '127.0.0.78',
      '--cluster',
      'a',
      '-p',
      'x',
    ],
    { env, encoding: 'utf8' },
  );
  assert.equal(gen.status, 0, gen.stderr);
  mkdirSync(join(home, 'a'));
  mkdirSync(join(home, 'images'));
  writeFileSync(join(home, 'a', 'Clusterfile'), gen.stdout);
  const run = spawnSync(
    process.execPath,
    [
      bin,
      'run',
      'example/k3s:v1',
      '--masters',
      '127.0.0.79',
      '--nodes',
      '127.0.0.78',
      '--cluster',
      'b',
      '-p',
      'x',
    ],
    { env, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(run.status, 4, run.stderr);
  assert.equal(
    run.stderr,
    'berth: host 127.0.0.78 is already in cluster "a", so it cannot join cluster "b": remove it there first ' +
      '(berth delete --nodes/--masters 127.0.0.78 --cluster a, or berth reset --cluster a)\n',
  );
  assert.ok(!existsSync(join(home, 'b')), 'no state for cluster b');
});

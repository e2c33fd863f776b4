import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  clusterPaths,
  loadDriverState,
  loadOrCreateSecrets,
  removeClusterState,
  saveDriverState,
  validateClusterName,
  withClusterLock,
} from '../../src/apply/state.js';
import { encryptSecret } from '../../src/util/secrets.js';
import { testDir } from '../helpers/test-dir.js';

test('cluster secrets are generated once and stored encrypted', async (t) => {
  process.env.BERTH_HOME = testDir(t, 'berth-state-');
  const first = await loadOrCreateSecrets('c1');
  const second = await loadOrCreateSecrets('c1');
  assert.deepEqual(second, first);
  const text = readFileSync(clusterPaths('c1').secrets, 'utf8');
  for (const v of Object.values(first)) assert.ok(!text.includes(v), 'no plain secret on disk');
  assert.equal(statSync(clusterPaths('c1').secrets).mode & 0o777, 0o600);
});

test('one berth process at a time changes a cluster', async (t) => {
  process.env.BERTH_HOME = testDir(t, 'berth-state-');
  await withClusterLock('c2', async () => {
    await assert.rejects(
      withClusterLock('c2', async () => undefined),
      new RegExp(
        `^EnvironmentError: cluster "c2" is being changed by berth process ${process.pid} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; wait for it to finish$`,
      ),
    );
  });
  assert.equal(await withClusterLock('c2', async () => 7), 7);
});

test("a lock left by a killed berth is taken over at once, a live holder's is not", async (t) => {
  process.env.BERTH_HOME = testDir(t, 'berth-state-');
  const lock = join(clusterPaths('c3').dir, '.lock');
  mkdirSync(lock, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(`${lock}.owner`, `${hostname()} ${dead}\n`);
  assert.equal(await withClusterLock('c3', async () => 'resumed'), 'resumed');
  mkdirSync(lock, { recursive: true });
  writeFileSync(`${lock}.owner`, `${hostname()} ${process.pid}\n`);
  await assert.rejects(
    withClusterLock('c3', async () => undefined),
    /being changed by berth process \d+; wait/,
  );
});

test("a cluster's state is removed around the lock its holder keeps; the dir goes when the lock does", async (t) => {
  process.env.BERTH_HOME = testDir(t, 'berth-state-');
  const { dir } = clusterPaths('c4');
  await withClusterLock('c4', async () => {
    writeFileSync(join(dir, 'Clusterfile'), 'kind: Cluster\n');
    mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true });
    await removeClusterState('c4');
    // proper-lockfile refreshes the lock until it is released and crashes the process if it is gone
    assert.deepEqual(readdirSync(dir).sort(), ['.lock', '.lock.owner']);
  });
  assert.equal(existsSync(dir), false);
  await withClusterLock('c4', async () => writeFileSync(join(dir, 'Clusterfile'), 'kind: Cluster\n'));
  assert.deepEqual(readdirSync(dir), ['Clusterfile'], 'a dir that holds state stays');
});

test('cluster names are checked', () => {
  assert.throws(() => validateClusterName('Bad_Name'), /lowercase/);
  assert.throws(() => validateClusterName('images'), /reserved/);
  validateClusterName('prod-1');
});

test('driver state is kept encrypted; tokens an older berth kept in secrets.json become it', async (t) => {
  process.env.BERTH_HOME = testDir(t, 'berth-state-');
  assert.equal(await loadDriverState('c4'), undefined);
  await saveDriverState('c4', { ca: 'ca-s3cret-1' });
  assert.ok(!readFileSync(clusterPaths('c4').driverState, 'utf8').includes('ca-s3cret-1'));
  assert.deepEqual(await loadDriverState('c4'), { ca: 'ca-s3cret-1' });
  mkdirSync(clusterPaths('c5').dir, { recursive: true });
  writeFileSync(
    clusterPaths('c5').secrets,
    JSON.stringify({ token: encryptSecret('old-token'), agentToken: encryptSecret('old-agent') }),
  );
  assert.deepEqual(await loadDriverState('c5'), { token: 'old-token', agentToken: 'old-agent' });
  const secrets = await loadOrCreateSecrets('c5');
  assert.ok(readFileSync(clusterPaths('c5').secrets, 'utf8').includes('"token"'), 'old fields are kept');
  assert.match(secrets.registryPassword, /^[0-9a-f]{48}$/);
});

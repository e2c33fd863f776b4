// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references literally
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  clusterFromRunArgs,
  loadClusterfile,
  parseClusterfile,
  resolveHosts,
  saveClusterfile,
  stateClusterfilePath,
} from '../../src/clusterfile/index.js';
import { UsageError } from '../../src/util/errors.js';
import { sampleClusterfile } from '../helpers/clusterfile-sample.js';

const plainPassword = 'pw-plain-7731';
const plainKey =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nt-cf-keydata-5521\n-----END OPENSSH PRIVATE KEY-----\n';
const environment = { T_CF_PK: 'phrase-9' };

function tempHome(t: { after(fn: () => void): void }): string {
  const home = mkdtempSync(join(tmpdir(), 't-cf-save-'));
  const before = process.env.BERTH_HOME;
  process.env.BERTH_HOME = home;
  t.after(() => {
    if (before === undefined) delete process.env.BERTH_HOME;
    else process.env.BERTH_HOME = before;
    rmSync(home, { recursive: true, force: true });
  });
  return home;
}

test('saved Clusterfile holds no plain secrets, is 0600, keeps ${VAR} references and round-trips', async (t) => {
  tempHome(t);
  const text = sampleClusterfile
    .replace('passwd: ${T_CF_PASS}', `passwd: ${plainPassword}`)
    .replace('        pk: /root/.ssh/id_ed25519', `        pkData: ${JSON.stringify(plainKey)}`);
  const loaded = parseClusterfile(text, 'Clusterfile', { environment });
  const path = stateClusterfilePath('prod-1');
  await saveClusterfile(path, loaded.cluster, [...loaded.configs, ...loaded.distributionDocs]);

  assert.equal(statSync(path).mode & 0o777, 0o600);
  for (const secret of [plainPassword, 't-cf-keydata-5521']) {
    const grep = spawnSync('grep', ['-c', '-F', secret, path], { encoding: 'utf8' });
    assert.equal(grep.status, 1, `${secret} must not be in the saved file`);
  }
  const saved = readFileSync(path, 'utf8');
  assert.match(saved, /passwd: enc:v1:/);
  assert.match(saved, /pkData: enc:v1:/);
  assert.match(saved, /pkPasswd: \$\{T_CF_PK\}/, 'references stay references');

  const again = await loadClusterfile(path, { environment });
  assert.deepEqual(again.cluster, loaded.cluster);
  assert.deepEqual(again.configs, loaded.configs);
  assert.deepEqual(
    again.distributionDocs.map((d) => d.object),
    loaded.distributionDocs.map((d) => d.object),
  );
  const node = resolveHosts(again.cluster, environment)[3];
  assert.equal(node?.ssh.password, plainPassword);
  assert.equal(node?.ssh.privateKey, plainKey);
  assert.equal(node?.ssh.passphrase, 'phrase-9');

  // Saving again over the old copy replaces it and stays private.
  await saveClusterfile(path, again.cluster);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal((await loadClusterfile(path, { environment })).configs.length, 0);
});

test('a secret env entry (registryPassword) is saved sealed, a ${VAR} one as written, and both load back', async (t) => {
  tempHome(t);
  const registryPassword = 't-cf-regpw-4410';
  const text = sampleClusterfile
    .replace(
      '    - registryDomain=sealos.hub\n',
      `    - registryDomain=sealos.hub\n    - registryPassword=${registryPassword}\n`,
    )
    .replace('        - NIC=eth1\n', '        - NIC=eth1\n        - registryPassword=${T_CF_REG}\n');
  const env = { ...environment, T_CF_PASS: 'pw', T_CF_REG: 'from-env' };
  const loaded = parseClusterfile(text, 'Clusterfile', { environment: env });
  const path = stateClusterfilePath('prod-2');
  await saveClusterfile(path, loaded.cluster);
  const saved = readFileSync(path, 'utf8');
  assert.equal(saved.includes(registryPassword), false, 'the password is not in the saved file');
  assert.match(saved, /- registryPassword=enc:v1:/);
  assert.match(saved, /- registryPassword=\$\{T_CF_REG\}/, 'references stay references');
  assert.match(saved, /- registryDomain=sealos\.hub/, 'other entries stay as written');
  const again = await loadClusterfile(path, { environment: env });
  assert.deepEqual(again.cluster, loaded.cluster);
  assert.ok(again.cluster.spec.env?.includes(`registryPassword=${registryPassword}`));
});

test('clusterFromRunArgs builds the Cluster that run flags mean', () => {
  const cluster = clusterFromRunArgs({
    images: ['labring/kubernetes:v1.27.7', 'labring/calico:v3.24.1'],
    masters: '192.168.0.2-192.168.0.4',
    nodes: '192.168.0.10, 192.168.0.11:2222',
    user: 'deploy',
    password: plainPassword,
    port: '2200',
    env: ['A=1', 'A=2'],
    cmd: ['kubeadm init'],
    cluster: 't-cf-run',
  });
  assert.equal(cluster.metadata.name, 't-cf-run');
  assert.deepEqual(cluster.spec.hosts, [
    { ips: ['192.168.0.2', '192.168.0.3', '192.168.0.4'], roles: ['master'] },
    { ips: ['192.168.0.10', '192.168.0.11:2222'], roles: ['node'] },
  ]);
  assert.deepEqual(cluster.spec.ssh, { user: 'deploy', passwd: plainPassword, port: 2200 });
  assert.deepEqual(cluster.spec.command, ['kubeadm init']);
  const hosts = resolveHosts(cluster, {});
  assert.deepEqual(
    hosts.map((h) => `${h.ip}:${h.port}`),
    ['192.168.0.2:2200', '192.168.0.3:2200', '192.168.0.4:2200', '192.168.0.10:2200', '192.168.0.11:2222'],
  );
  assert.equal(hosts[0]?.env.A, '2', 'the last -e wins');

  const bad = (args: Partial<Parameters<typeof clusterFromRunArgs>[0]>, message: string) =>
    assert.throws(
      () => clusterFromRunArgs({ images: ['labring/kubernetes:v1.27.7'], masters: '10.0.0.2', ...args }),
      (err: Error) => err instanceof UsageError && err.message === message,
    );
  bad({ masters: '' }, '--masters: needs at least one IP address');
  bad({ masters: '10.0.0.2,10.0.0.256' }, '--masters: "10.0.0.256" is not an IP address');
  bad({ nodes: '10.0.0.9-10.0.0.3' }, '--nodes: range "10.0.0.9-10.0.0.3" ends before it starts');
  bad({ nodes: '10.0.0.1-10.0.0.3' }, '--nodes: 10.0.0.2 is given twice; an IP appears once');
  bad({ port: '99999' }, '--port: must be a port number 1-65535');
  bad(
    { cluster: 'My Cluster' },
    '--cluster: must be a lowercase DNS label: a-z, 0-9 and "-", at most 63 characters',
  );
  bad({ images: [] }, 'needs at least one IMAGE, the rootfs image first');
});

test('berth gen prints a Clusterfile that parses back to the same cluster, without the password', (t) => {
  tempHome(t);
  const args = [
    'labring/kubernetes:v1.27.7',
    'labring/calico:v3.24.1',
    '--masters',
    '10.1.0.2-10.1.0.4',
    '--nodes',
    '10.1.0.10,10.1.0.11',
    '-p',
    plainPassword,
    '-u',
    'deploy',
    '--port',
    '2200',
    '-e',
    'criData=/data',
    '--cmd',
    'kubeadm init',
    '--cluster',
    't-cf-gen',
  ];
  const main = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [main, 'gen', ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(
    !run.stdout.includes(plainPassword) && !run.stderr.includes(plainPassword),
    'password never printed',
  );
  assert.match(run.stdout, /passwd: \$\{BERTH_SSH_PASSWORD\}/);
  assert.match(run.stderr, /export BERTH_SSH_PASSWORD/);

  const parsed = parseClusterfile(run.stdout, 'gen output', {
    environment: { BERTH_SSH_PASSWORD: plainPassword },
  });
  const expected = clusterFromRunArgs({
    images: args.slice(0, 2),
    masters: '10.1.0.2-10.1.0.4',
    nodes: '10.1.0.10,10.1.0.11',
    password: '${BERTH_SSH_PASSWORD}',
    user: 'deploy',
    port: 2200,
    env: ['criData=/data'],
    cmd: ['kubeadm init'],
    cluster: 't-cf-gen',
  });
  assert.deepEqual(parsed.cluster, expected);
  assert.equal(
    resolveHosts(parsed.cluster, { BERTH_SSH_PASSWORD: plainPassword })[0]?.ssh.password,
    plainPassword,
  );

  const dir = mkdtempSync(join(tmpdir(), 't-cf-gen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'Clusterfile');
  const toFile = spawnSync(process.execPath, [main, 'gen', ...args, '-o', out], { encoding: 'utf8' });
  assert.equal(toFile.status, 0, toFile.stderr);
  assert.equal(toFile.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), run.stdout);

  const badIp = spawnSync(
    process.execPath,
    [main, 'gen', 'labring/kubernetes:v1.27.7', '--masters', '10.1.0.300'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(badIp.status, 2);
  assert.equal(badIp.stderr, 'berth: --masters: "10.1.0.300" is not an IP address\n');
});

test('a saved secret that cannot be decrypted is named with file, line and field', async (t) => {
  const home = tempHome(t);
  const { cluster } = parseClusterfile(
    sampleClusterfile.replace('passwd: ${T_CF_PASS}', `passwd: ${plainPassword}`),
    'x',
    {
      environment,
    },
  );
  const path = join(home, 'Clusterfile');
  await saveClusterfile(path, cluster);
  const line =
    readFileSync(path, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('passwd: enc:v1:')) + 1;
  const otherHome = mkdtempSync(join(tmpdir(), 't-cf-otherkey-'));
  t.after(() => rmSync(otherHome, { recursive: true, force: true }));
  process.env.BERTH_HOME = otherHome;
  await assert.rejects(loadClusterfile(path, { environment }), {
    message: `${path}:${line}: spec.ssh.passwd: a stored secret cannot be decrypted with ${join(otherHome, 'secret.key')}: was the key replaced?`,
  });
});

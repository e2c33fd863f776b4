import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { parse } from 'yaml';
import { removeHostsEntries, setHostsEntry } from '../../src/host/etc-hosts.js';
import {
  containerdHostsToml,
  containerdMirrorFiles,
  mirrorSecrets,
  type RegistryEndpoint,
} from '../../src/registry/mirrors.js';
import {
  htpasswdLine,
  registryConfigYaml,
  registryServerAction,
  registryServiceSpec,
} from '../../src/registry/server.js';
import { k3sRegistriesYaml } from '../../src/runtime/k3s/registries.js';
import { sh } from '../helpers/run-local.js';

const reg: RegistryEndpoint = {
  domain: 'sealos.hub',
  port: 5000,
  hostIp: '10.0.0.2',
  username: 'admin',
  password: 'pa$$ w0rd\'"',
};

test('registry config: filesystem storage, :5000, htpasswd, no delete, health', () => {
  const doc = parse(
    registryConfigYaml({ dataDir: '/var/lib/registry', configDir: '/etc/registry', port: 5000 }),
  );
  assert.equal(doc.version, 0.1);
  assert.equal(doc.storage.filesystem.rootdirectory, '/var/lib/registry');
  assert.equal(doc.storage.delete.enabled, false);
  assert.equal(doc.http.addr, ':5000');
  assert.deepEqual(doc.auth.htpasswd, { realm: 'berth-registry', path: '/etc/registry/htpasswd' });
  assert.equal(doc.health.storagedriver.enabled, true);
});

test('htpasswd line is $2y$ bcrypt cost 10 and verifies', () => {
  const line = htpasswdLine('admin', reg.password);
  assert.match(line, /^admin:\$2y\$10\$[./A-Za-z0-9]{53}\n$/);
  const hash = line.trim().slice('admin:'.length);
  assert.equal(bcrypt.compareSync(reg.password, hash), true);
  assert.equal(bcrypt.compareSync('wrong', hash), false);
  assert.throws(() => htpasswdLine('a:b', 'x'), /must not contain ':'/);
});

test('registry service prefers the image binary, then the host programs', () => {
  const spec = registryServiceSpec({ rootfsDir: '/var/lib/berth/c1/rootfs', configDir: '/etc/registry' });
  assert.match(
    spec.prelude ?? '',
    /for c in \/var\/lib\/berth\/c1\/rootfs\/cri\/registry registry docker-registry;/,
  );
  assert.equal(spec.command, '"$bin" serve /etc/registry/config.yml');
  const action = registryServerAction({
    rootfsDir: '/r',
    dataDir: '/var/lib/registry',
    configDir: '/etc/registry',
    port: 5000,
    username: 'admin',
    password: reg.password,
  });
  const htpasswd = action.files?.find((f) => f.path === '/etc/registry/htpasswd');
  assert.equal(htpasswd?.mode, 0o600);
  assert.deepEqual(action.secrets, [reg.password]);
  assert.ok(
    !(action.commands ?? []).some((c) => c.includes(reg.password)),
    'no command carries the password',
  );
});

test('containerd hosts.toml per mirrored registry, with auth header', () => {
  const files = containerdMirrorFiles(reg);
  assert.deepEqual(
    files.map((f) => f.path),
    [
      '/etc/containerd/certs.d/registry.k8s.io/hosts.toml',
      '/etc/containerd/certs.d/docker.io/hosts.toml',
      '/etc/containerd/certs.d/quay.io/hosts.toml',
      '/etc/containerd/certs.d/ghcr.io/hosts.toml',
      '/etc/containerd/certs.d/k8s.gcr.io/hosts.toml',
      '/etc/containerd/certs.d/sealos.hub:5000/hosts.toml',
    ],
  );
  assert.ok(files.every((f) => f.mode === 0o600));
  const basic = Buffer.from(`admin:${reg.password}`).toString('base64');
  assert.equal(
    containerdHostsToml('https://registry.k8s.io', reg),
    [
      'server = "https://registry.k8s.io"',
      '',
      '[host."http://sealos.hub:5000"]',
      '  capabilities = ["pull", "resolve"]',
      '',
      '[host."http://sealos.hub:5000".header]',
      `  Authorization = "Basic ${basic}"`,
      '',
    ].join('\n'),
  );
  assert.match(files[5].content, /^server = "http:\/\/sealos.hub:5000"/);
  assert.ok(mirrorSecrets(reg).includes(`Basic ${basic}`));
});

test('k3s registries.yaml mirrors the same hosts and carries the credentials', () => {
  const doc = parse(k3sRegistriesYaml(reg));
  assert.deepEqual(Object.keys(doc.mirrors), [
    'registry.k8s.io',
    'docker.io',
    'quay.io',
    'ghcr.io',
    'k8s.gcr.io',
    'sealos.hub:5000',
  ]);
  for (const m of Object.values(doc.mirrors)) assert.deepEqual(m, { endpoint: ['http://sealos.hub:5000'] });
  assert.deepEqual(doc.configs, {
    'sealos.hub:5000': { auth: { username: 'admin', password: reg.password } },
  });
});

test('/etc/hosts: berth lines are added, replaced and removed idempotently, nothing else touched', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hosts');
  const original =
    '127.0.0.1 localhost\n# a comment about sealos.hub # berth\n10.1.1.1 sealos.hub # mine\n::1 ip6-localhost';
  writeFileSync(file, original);
  sh(setHostsEntry('10.0.0.2', 'sealos.hub', file));
  sh(setHostsEntry('10.0.0.2', 'sealos.hub', file));
  sh(setHostsEntry('10.0.0.9', 'apiserver.cluster.local', file));
  const base = `${original}\n`;
  assert.equal(
    readFileSync(file, 'utf8'),
    `${base}10.0.0.2 sealos.hub # berth\n10.0.0.9 apiserver.cluster.local # berth\n`,
  );
  sh(setHostsEntry('10.0.0.3', 'apiserver.cluster.local', file));
  assert.equal(
    readFileSync(file, 'utf8'),
    `${base}10.0.0.2 sealos.hub # berth\n10.0.0.3 apiserver.cluster.local # berth\n`,
  );
  sh(removeHostsEntries('sealos.hub', file));
  sh(removeHostsEntries('sealos.hub', file));
  assert.equal(readFileSync(file, 'utf8'), `${base}10.0.0.3 apiserver.cluster.local # berth\n`);
  sh(setHostsEntry('10.0.0.2', 'sealos.hub', file));
  sh(removeHostsEntries(undefined, file));
  assert.equal(readFileSync(file, 'utf8'), base);
  assert.throws(() => setHostsEntry('10.0.0.2', 'bad name; rm -rf /'), /not a valid DNS name/);
});

// Secrets never in plain text: a whole cluster life (run, add, delete, reset, all with --debug) with
// marker values for every kind of secret berth handles: the SSH password of a host that only takes
// password logins, the passphrase of the private key the others take, the registry password of the
// Clusterfile's env, the credentials of a `berth login` to the registry the cluster image is pulled from,
// the distribution's join tokens (driver state), the generated registry password, the sandbox's
// passwords and BERTH_PASSPHRASE itself. None of them may appear in any file under BERTH_HOME, in any file
// berth wrote on a host (but those the distribution itself needs, listed below with the reason), in a
// host's process list, or in any line berth printed. The key is kept off the disk twice: the cluster
// above with BERTH_PASSPHRASE, a second one with BERTH_SECRET_KEY_FILE; a wrong passphrase, a wrong key
// file and the other kind of key are each refused with one line, exit 3, and change nothing.
// A kubeadm cluster lives the same life with its own secrets: the bootstrap token, the private keys of
// the cluster's CAs and of the service-account signer (made here and kept in the driver state).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
import { loadDriverState, loadOrCreateSecrets } from '../../src/apply/state.js';
import type { KubeadmState } from '../../src/runtime/kubeadm/state.js';
import type { SandboxHost } from '../../src/sandbox/index.js';
import { hostDir } from '../../src/sandbox/store.js';
import {
  assertReadyNodes,
  berth,
  type ClusterSetup,
  hostProcesses,
  imageRef,
  mustSsh,
  type Run,
  setupCluster,
} from '../helpers/cluster-e2e.js';
import { runBerth } from '../helpers/run-berth.js';
import { testInit } from '../helpers/sandbox.js';
import { startRegistry } from '../helpers/test-registry.js';

const cluster = 't-sec';
const keyFileCluster = 't-sec-kf';
const tag = (what: string) => `berthmark-${what}-${randomBytes(6).toString('hex')}`;
const marks = {
  passphrase: tag('passphrase'),
  sshPassword: tag('sshpw'),
  keyPassphrase: tag('keypw'),
  registryPassword: tag('regpw'),
  loginPassword: tag('loginpw'),
};
const loginUser = 'tester';

/**
 * Files on a host that hold a secret because the distribution reads it from there, in plain text, by
 * design: each with the secrets it may hold and why.
 */
const required: Array<{ path: RegExp; holds: string[]; why: string }> = [
  {
    path: /^\/etc\/rancher\/k3s\/config\.yaml$/,
    holds: ['token', 'agentToken'],
    why: 'k3s reads its join tokens from its config file (berth writes it 0600)',
  },
  {
    path: /^\/etc\/rancher\/k3s\/registries\.yaml$/,
    holds: ['registryPassword'],
    why: "k3s' containerd logs in to the cluster registry with the password from this file (0600)",
  },
  {
    path: /^\/var\/lib\/rancher\/k3s\/agent\/etc\/containerd\/config\.toml$/,
    holds: ['registryPassword'],
    why: 'k3s renders registries.yaml, credentials included, into the config of the containerd it runs',
  },
  {
    path: /^\/var\/lib\/rancher\/k3s\/server\/(token|agent-token|node-token)$/,
    holds: ['token', 'agentToken'],
    why: 'k3s keeps the tokens it was started with for servers and agents that join later',
  },
  {
    path: /^\/var\/lib\/rancher\/k3s\/server\/cred\/passwd$/,
    holds: ['token', 'agentToken'],
    why: "k3s' server checks the tokens of joining servers and agents against this file",
  },
];

function listDir(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((rel) => join(dir, rel));
}

/** `FILE: NAME` for each file among `paths` (dirs searched through, on this machine) holding a secret. */
function grepLocal(paths: string[], needles: Map<string, string>): string[] {
  const hits: string[] = [];
  if (paths.length === 0) return hits;
  for (const [name, value] of needles) {
    const r = spawnSync('grep', ['-rlF', '-D', 'skip', '-e', value, ...paths], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(r.status === 0 || r.status === 1, `grep: ${r.stderr}`);
    for (const f of r.stdout.split('\n').filter(Boolean)) hits.push(`${f}: ${name}`);
  }
  return hits;
}

/**
 * `path: secret` for every file of host `i` that holds a marker: what the host wrote to its own layer
 * (the overlay's upper dir and containerd's dir, read here) and its tmpfs mounts (read on the host).
 */
function grepHost(setup: ClusterSetup, h: SandboxHost, i: number, needles: Map<string, string>): string[] {
  const dir = hostDir(setup.sb.name, i);
  const hits = grepLocal([join(dir, 'upper'), join(dir, 'containerd')], needles).map((l) =>
    l.startsWith(`${dir}/upper/`)
      ? l.slice(`${dir}/upper`.length)
      : `/var/lib/containerd/${l.slice(`${dir}/containerd/`.length)}`,
  );
  // one grep per secret, its name after each file found: `PATH NAME`
  const script = [...needles]
    .map(([, v], k) => `grep -rlF -D skip -e '${v}' /run /tmp /dev/shm 2>/dev/null | sed 's|$| ${k}|'`)
    .join('\n');
  const names = [...needles.keys()];
  for (const line of mustSsh(setup, h, `${script}\ntrue\n`).split('\n').filter(Boolean)) {
    const at = line.lastIndexOf(' ');
    hits.push(`${line.slice(0, at)}: ${names[Number(line.slice(at + 1))]}`);
  }
  for (const p of hostProcesses(h))
    for (const [name, value] of needles) if (p.includes(value)) hits.push(`process "${p}": ${name}`);
  return hits;
}

/**
 * The same for a kubeadm cluster. berth makes the CAs itself and puts every master's certificates in
 * place, so it uses no certificate key (`kubeadm init --upload-certs`): none to look for.
 */
const kubeadmRequired: Array<{ path: RegExp; holds: string[]; why: string }> = [
  {
    path: /^\/etc\/kubernetes\/pki\/(ca|front-proxy-ca|etcd\/ca)\.key$/,
    holds: ['ca.key', 'front-proxy-ca.key', 'etcd/ca.key'],
    why: "a master's controller-manager signs kubelet and CSR certificates with the CA keys, and kubeadm (join, certs renew) reads them from here",
  },
  {
    path: /^\/etc\/kubernetes\/pki\/sa\.key$/,
    holds: ['sa.key'],
    why: "every master's controller-manager and API server sign service-account tokens with it",
  },
  {
    path: /^\/etc\/containerd\/certs\.d\/.*\/hosts\.toml$|^\/etc\/containerd\/config\.toml$/,
    holds: ['registryPassword'],
    why: 'containerd logs in to the cluster registry with the credentials of its config (0600)',
  },
];

/** Hits that no entry of `allowed` explains. */
function unexplained(hits: string[], allowed = required): string[] {
  return hits.filter((hit) => {
    const [path, name] = hit.split(': ') as [string, string];
    return !allowed.some((r) => r.path.test(path) && r.holds.includes(name));
  });
}

/** One line from the middle of a PEM's base64: a fixed string grep can look for. */
function pemLine(pem: string): string {
  const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const line = lines[Math.floor(lines.length / 2)];
  assert.ok(line && line.length >= 40, 'a PEM body line');
  return line;
}

/**
 * What berth keeps under BERTH_HOME, without the sandbox hosts' own file systems (which live there too, and
 * which grepHost reads as the hosts' files).
 */
function berthFiles(home: string): string[] {
  return listDir(home).filter(
    (p) => !/\/sandboxes\/[^/]+\/hosts(\/|$)/.test(p.slice(home.length)) && lstatSync(p).isFile(),
  );
}

/** Each of berth's files with a digest of its content, to show a refused command changed nothing. */
function stateDigest(home: string): string[] {
  return berthFiles(home)
    .map((p) => `${p} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`)
    .sort();
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

function outputLines(runs: Run[]): string[] {
  return runs.flatMap((r) => `${r.stdout}\n${r.stderr}`.split('\n'));
}

test('secrets never in plain text: files here, files on the hosts, output', async (t) => {
  // set before the sandbox is made, so that its record is sealed with the passphrase too
  process.env.BERTH_PASSPHRASE = marks.passphrase;
  t.after(() => {
    delete process.env.BERTH_PASSPHRASE;
    delete process.env.DOCKER_CONFIG;
  });
  const outside = mkdtempSync(join(tmpdir(), 't-sec-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  process.env.DOCKER_CONFIG = join(outside, 'docker');
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 3 });
  const { sb, home } = setup;
  const [a, b, c] = sb.hosts as [SandboxHost, SandboxHost, SandboxHost];
  const stateDir = join(home, cluster);
  const runs: Run[] = [];
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = Object.keys(env).length
      ? { ...(await runBerth(args, env)), signal: null, ms: 0 }
      : await berth(args);
    runs.push(r);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r;
  };

  // a key with a marker passphrase for a and c; b takes only its marker password
  const keyPath = join(outside, 'id_marked');
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', marks.keyPassphrase, '-f', keyPath]);
  assert.equal(kg.status, 0, kg.stderr?.toString());
  const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim();
  for (const h of [a, c]) mustSsh(setup, h, `echo '${pub}' >> /root/.ssh/authorized_keys`);
  mustSsh(setup, b, `echo 'root:${marks.sshPassword}' | chpasswd`);

  // the cluster image comes from a registry that wants the login's password
  const reg = await startRegistry({ auth: { user: loginUser, password: marks.loginPassword } });
  t.after(() => reg.stop());
  const remoteRef = `${reg.host}/${imageRef}`;
  const login = await runBerth(
    ['login', reg.host, '-u', loginUser, '--password-stdin', '--debug'],
    {},
    marks.loginPassword,
  );
  runs.push({ ...login, signal: null, ms: 0 });
  assert.equal(login.code, 0, login.stderr);
  await ok(['tag', imageRef, remoteRef]);
  await ok(['push', remoteRef, '--debug']);
  await ok(['rmi', remoteRef]);

  const clusterfile = join(outside, 'Clusterfile');
  writeFileSync(
    clusterfile,
    `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  name: ${cluster}
spec:
  image:
    - ${remoteRef}
  ssh:
    user: root
    pk: ${keyPath}
    pkPasswd: ${marks.keyPassphrase}
  env:
    - registryPassword=${marks.registryPassword}
  hosts:
    - ips: [${a.ip}]
      roles: [master]
    - ips: [${b.ip}]
      roles: [node]
      ssh:
        passwd: ${marks.sshPassword}
`,
  );
  setup.resetOnCleanup(cluster);
  await ok(['apply', '-f', clusterfile, '--debug']);
  await ok(['add', '--nodes', c.ip, '--cluster', cluster, '--debug']);
  assertReadyNodes(join(stateDir, 'kubeconfig'), [a.ip, b.ip, c.ip]);

  const driver = (await loadDriverState(cluster)) as { token: string; agentToken: string };
  const generated = (await loadOrCreateSecrets(cluster)).registryPassword;
  const needles = new Map<string, string>([
    ...Object.entries(marks),
    ['token', driver.token],
    ['agentToken', driver.agentToken],
    ['generatedRegistryPassword', generated],
    ['loginAuth', Buffer.from(`${loginUser}:${marks.loginPassword}`).toString('base64')],
    ...sb.hosts.flatMap((h) => [
      [`${h.name} root password`, h.rootPassword] as [string, string],
      [`${h.name} user password`, h.userPassword] as [string, string],
    ]),
  ]);
  const hostHits = new Set<string>();

  await t.test('the hosts hold secrets only where the distribution reads them', () => {
    const wrong: string[] = [];
    for (const [i, h] of sb.hosts.entries()) {
      const hits = grepHost(setup, h, i, needles);
      for (const hit of hits) hostHits.add(hit);
      wrong.push(...unexplained(hits).map((l) => `${h.ip} ${l}`));
    }
    console.log(`allowed on the hosts: ${[...hostHits].sort().join('; ')}`);
    assert.deepEqual(wrong, []);
  });

  await t.test('no file under BERTH_HOME holds a secret while the cluster is applied', () => {
    assert.deepEqual(grepLocal(berthFiles(home), needles), []);
  });

  await t.test('state dir 0700, its files 0600, the key off the disk', () => {
    assert.equal(mode(stateDir), '700');
    for (const p of readdirSync(stateDir).map((n) => join(stateDir, n)))
      if (statSync(p).isFile()) assert.equal(mode(p), '600', p);
    for (const p of [join(home, 'secret.check'), join(home, 'known_hosts')]) assert.equal(mode(p), '600', p);
    assert.equal(mode(join(outside, 'docker', 'config.json')), '600');
    const check = JSON.parse(readFileSync(join(home, 'secret.check'), 'utf8')) as { source: string };
    assert.equal(check.source, 'passphrase');
    assert.deepEqual(
      readdirSync(home).filter((n) => n === 'secret.key'),
      [],
      'with BERTH_PASSPHRASE no key file is made',
    );
  });

  await t.test(
    'a wrong passphrase, or a key file instead, is one line, exit 3, nothing changed',
    async () => {
      const before = stateDigest(home);
      for (const env of [
        { BERTH_PASSPHRASE: `${marks.passphrase}-wrong` },
        { BERTH_PASSPHRASE: '', BERTH_SECRET_KEY_FILE: join(outside, 'no-such-key') },
      ]) {
        const r = await runBerth(['delete', '--nodes', c.ip, '--cluster', cluster], env);
        runs.push({ ...r, signal: null, ms: 0 });
        assert.equal(r.code, 3, r.stderr);
        const lines = r.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0] as string, /passphrase|sealed with/);
        assert.deepEqual(stateDigest(home), before, 'the refused command changed the state');
      }
    },
  );

  await ok(['delete', '--nodes', c.ip, '--cluster', cluster, '--debug']);
  assertReadyNodes(join(stateDir, 'kubeconfig'), [a.ip, b.ip]);
  await ok(['reset', '--cluster', cluster, '--debug']);

  await t.test('a cluster sealed with BERTH_SECRET_KEY_FILE: the key stays off the disk', async () => {
    const kfHome = join(outside, 'home-kf');
    const keyFile = join(outside, 'secret-key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    const env = { BERTH_HOME: kfHome, BERTH_PASSPHRASE: '', BERTH_SECRET_KEY_FILE: keyFile };
    await ok(['pull', remoteRef], env);
    const args = ['run', remoteRef, '--cluster', keyFileCluster, '--masters', a.ip];
    await ok([...args, '-i', keyPath, '--pk-passwd', marks.keyPassphrase, '--debug'], env);
    const check = JSON.parse(readFileSync(join(kfHome, 'secret.check'), 'utf8')) as { source: string };
    assert.equal(check.source, 'key-file');
    assert.deepEqual(
      readdirSync(kfHome).filter((n) => n === 'secret.key'),
      [],
      'with BERTH_SECRET_KEY_FILE no key file is made in BERTH_HOME',
    );
    const before = stateDigest(kfHome);
    const otherKey = join(outside, 'other-key');
    writeFileSync(otherKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    const wrong = await runBerth(['status', '--cluster', keyFileCluster], {
      ...env,
      BERTH_SECRET_KEY_FILE: otherKey,
    });
    runs.push({ ...wrong, signal: null, ms: 0 });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.equal(wrong.stderr.split('\n').filter(Boolean).length, 1, wrong.stderr);
    assert.match(wrong.stderr, /BERTH_SECRET_KEY_FILE=.*other-key is not the key/);
    assert.deepEqual(stateDigest(kfHome), before, 'the refused command changed the state');
    const kfDriver = (await loadDriverStateIn(env)) as { token: string; agentToken: string };
    needles.set('key-file cluster token', kfDriver.token);
    needles.set('key-file cluster agentToken', kfDriver.agentToken);
    assert.deepEqual(grepLocal(berthFiles(kfHome), needles), [], 'a secret in plain text under BERTH_HOME');
    await ok(['reset', '--cluster', keyFileCluster, '--debug'], env);
  });

  await t.test('after reset no host holds any secret, BERTH_HOME none, the output none', () => {
    for (const [i, h] of sb.hosts.entries())
      assert.deepEqual(grepHost(setup, h, i, needles), [], `${h.ip} keeps a secret after reset`);
    assert.deepEqual(grepLocal(berthFiles(home), needles), [], 'a secret in plain text under BERTH_HOME');
    const leaked = outputLines(runs).filter((l) => [...needles.values()].some((v) => l.includes(v)));
    assert.deepEqual(leaked, [], 'a line berth printed holds a secret');
    // docker's config.json keeps the login as docker, podman and buildah read it (base64), never plainly
    assert.equal(
      readFileSync(join(outside, 'docker', 'config.json'), 'utf8').includes(marks.loginPassword),
      false,
    );
    console.log(`${needles.size} secrets looked for in ${outputLines(runs).length} output lines`);
  });
});

/** The driver state of a cluster in another BERTH_HOME, read with that home's key settings. */
async function loadDriverStateIn(env: Record<string, string>): Promise<unknown> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await loadDriverState(keyFileCluster);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const kubeadmSkip =
  process.getuid?.() !== 0
    ? 'needs root (sandbox hosts)'
    : testInit === 'sshd' && "the example kubeadm image's check hook needs systemd";

test('kubeadm: bootstrap token and CA keys never in plain text outside the files kubeadm reads', {
  skip: kubeadmSkip,
}, async (t) => {
  const kcluster = 't-sec-kadm';
  const image = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
  process.env.BERTH_PASSPHRASE = marks.passphrase;
  t.after(() => {
    delete process.env.BERTH_PASSPHRASE;
  });
  const outside = mkdtempSync(join(tmpdir(), 't-sec-kadm-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  const setup = await setupCluster(t, {
    sandbox: kcluster,
    hosts: 3,
    init: 'systemd',
    image: { tag: image, distribution: 'kubeadm' },
  });
  const { sb, home } = setup;
  const [a, b, c] = sb.hosts as [SandboxHost, SandboxHost, SandboxHost];
  const stateDir = join(home, kcluster);
  const runs: Run[] = [];
  const ok = async (args: string[]) => {
    const r = await berth(args, 600_000);
    runs.push(r);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  };
  const keyPath = join(outside, 'id_marked');
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', marks.keyPassphrase, '-f', keyPath]);
  assert.equal(kg.status, 0, kg.stderr?.toString());
  const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim();
  for (const h of [a, c]) mustSsh(setup, h, `echo '${pub}' >> /root/.ssh/authorized_keys`);
  mustSsh(setup, b, `echo 'root:${marks.sshPassword}' | chpasswd`);
  const clusterfile = join(outside, 'Clusterfile');
  writeFileSync(
    clusterfile,
    `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  name: ${kcluster}
spec:
  image:
    - ${image}
  ssh:
    user: root
    pk: ${keyPath}
    pkPasswd: ${marks.keyPassphrase}
  env:
    - registryPassword=${marks.registryPassword}
  hosts:
    - ips: [${a.ip}]
      roles: [master]
    - ips: [${b.ip}]
      roles: [node]
      ssh:
        passwd: ${marks.sshPassword}
`,
  );
  setup.resetOnCleanup(kcluster);
  await ok(['apply', '-f', clusterfile, '--debug']);
  await ok(['add', '--nodes', c.ip, '--cluster', kcluster, '--debug']);
  assertReadyNodes(join(stateDir, 'kubeconfig'), [a.ip, b.ip, c.ip]);

  const driver = (await loadDriverState(kcluster)) as KubeadmState;
  const needles = new Map<string, string>([
    ['passphrase', marks.passphrase],
    ['sshPassword', marks.sshPassword],
    ['keyPassphrase', marks.keyPassphrase],
    ['registryPassword', marks.registryPassword],
    ['bootstrapToken', driver.bootstrapToken],
    ['bootstrapToken secret', driver.bootstrapToken.split('.')[1] ?? ''],
    ['ca.key', pemLine(driver.cas.ca.key)],
    ['front-proxy-ca.key', pemLine(driver.cas.frontProxyCa.key)],
    ['etcd/ca.key', pemLine(driver.cas.etcdCa.key)],
    ['sa.key', pemLine(driver.cas.sa.privateKey)],
    ['generatedRegistryPassword', (await loadOrCreateSecrets(kcluster)).registryPassword],
    ...sb.hosts.flatMap((h) => [
      [`${h.name} root password`, h.rootPassword] as [string, string],
      [`${h.name} user password`, h.userPassword] as [string, string],
    ]),
  ]);

  await t.test('the hosts hold secrets only where kubeadm and containerd read them', () => {
    const allowed = new Set<string>();
    const wrong: string[] = [];
    for (const [i, h] of sb.hosts.entries()) {
      const hits = grepHost(setup, h, i, needles);
      for (const hit of hits) allowed.add(`${h.ip} ${hit}`);
      wrong.push(...unexplained(hits, kubeadmRequired).map((l) => `${h.ip} ${l}`));
    }
    console.log(`allowed on the hosts: ${[...allowed].sort().join('; ')}`);
    assert.deepEqual(wrong, []);
    for (const h of [b, c])
      assert.deepEqual(
        [...allowed].filter((l) => l.startsWith(`${h.ip} `) && /ca\.key|sa\.key/.test(l)),
        [],
        'a worker holds no CA or signer key',
      );
  });

  await t.test('no file under BERTH_HOME holds a secret; state dir 0700, its files 0600', () => {
    assert.deepEqual(grepLocal(berthFiles(home), needles), []);
    assert.equal(mode(stateDir), '700');
    for (const p of readdirSync(stateDir).map((n) => join(stateDir, n)))
      if (statSync(p).isFile()) assert.equal(mode(p), '600', p);
  });

  await ok(['delete', '--nodes', c.ip, '--cluster', kcluster, '--debug']);
  await ok(['reset', '--cluster', kcluster, '--debug']);

  await t.test('after reset no host holds any secret, BERTH_HOME none, the output none', () => {
    for (const [i, h] of sb.hosts.entries())
      assert.deepEqual(grepHost(setup, h, i, needles), [], `${h.ip} keeps a secret after reset`);
    assert.deepEqual(grepLocal(berthFiles(home), needles), [], 'a secret in plain text under BERTH_HOME');
    const leaked = outputLines(runs).filter((l) => [...needles.values()].some((v) => l.includes(v)));
    assert.deepEqual(leaked, [], 'a line berth printed holds a secret');
    console.log(`${needles.size} secrets looked for in ${outputLines(runs).length} output lines`);
  });
});

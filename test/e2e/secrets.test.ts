// Secrets never in plain text: a whole cluster life (run, add, delete, reset, all with --debug) on each
// runtime's example image, with marker values for every kind of secret berth handles: the SSH password of
// a host that only takes password logins, the passphrase of the private key the others take, the registry
// password of the Clusterfile's env, the credentials of a `berth login` to the registry the cluster image
// is pulled from, the generated registry password, the sandbox's passwords, BERTH_PASSPHRASE itself, and
// the runtime's own secrets: k3s's join tokens (driver state); kubeadm's bootstrap token and the private
// keys of the cluster's CAs and service-account signer (driver state); k0s's join tokens (made on the first
// controller for each join, read here from the cluster's bootstrap-token Secrets, and looked for in k0s's
// gzip+base64 form too) and the CA and signer keys k0s makes on the first controller. None of them may
// appear in any file under BERTH_HOME, in any file berth wrote on a host (but those the distribution itself
// needs, listed below with the reason), in a host's process list, or in any line berth printed. On every
// runtime a wrong passphrase and a missing key file are each refused with one line, exit 3, changing
// nothing; the k3s life also runs a second cluster sealed with BERTH_SECRET_KEY_FILE (the key off the disk
// that way too), and a key file of the other kind refused likewise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { K0S_EXAMPLE_VERSION, KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
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
  kubectl,
  mustSsh,
  type Run,
  setupCluster,
} from '../helpers/cluster-e2e.js';
import { runBerth } from '../helpers/run-berth.js';
import { testInit } from '../helpers/sandbox.js';
import { startRegistry } from '../helpers/test-registry.js';

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
 * A file on a host that holds a secret because the distribution reads it from there, in plain text, by
 * design: the secrets it may hold (a name, or the first words of the names of a kind) and why.
 */
interface Required {
  path: RegExp;
  holds: string[];
  why: string;
}

const k3sRequired: Required[] = [
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

// berth makes the CAs itself and puts every master's certificates in place, so it uses no certificate key
// (`kubeadm init --upload-certs`): none to look for.
const kubeadmRequired: Required[] = [
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

const k0sRequired: Required[] = [
  {
    path: /^\/var\/lib\/k0s\/pki\/(ca|sa|etcd\/ca)\.key$/,
    holds: ['ca.key', 'sa.key', 'etcd/ca.key'],
    why: 'k0s makes its CAs and service-account signer on the first controller and keeps them there; a joining controller fetches them through the k0s API',
  },
  {
    path: /^\/var\/lib\/k0s\/kubelet-bootstrap\.conf$/,
    holds: ['worker token'],
    why: "k0s writes the worker join token's kubeconfig here for the kubelet's TLS bootstrap (a controller makes one of its own for its kubelet)",
  },
  {
    path: /^\/var\/lib\/k0s\/etcd\//,
    holds: ['worker token', 'controller token'],
    why: 'the cluster keeps each join token as a kube-system bootstrap-token Secret, stored in etcd on the controllers',
  },
  {
    path: /^\/etc\/k0s\/certs\.d\/.*\/hosts\.toml$/,
    holds: ['registryPassword'],
    why: "k0s's containerd logs in to the cluster registry with the credentials of these files (0600)",
  },
];

function listDir(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((rel) => join(dir, rel));
}

/** The grep that prints `FILE:BLOB` for each gzip+base64 blob (a k0s join token's form) in a text file. */
const blobGrep = ['-rHoIE', '-e', 'H4sI[A-Za-z0-9+/=]{60,}'];

/** `WHERE: NAME (gzip+base64)` for each blob of `found` (`WHERE:BLOB` lines) that decodes to a secret. */
function encodedHits(found: string[], needles: Map<string, string>): string[] {
  const hits: string[] = [];
  for (const line of found) {
    const at = line.lastIndexOf(':');
    let plain: string;
    try {
      plain = gunzipSync(Buffer.from(line.slice(at + 1), 'base64')).toString('utf8');
    } catch {
      continue;
    }
    for (const [name, value] of needles)
      if (plain.includes(value)) hits.push(`${line.slice(0, at)}: ${name} (gzip+base64)`);
  }
  return hits;
}

/** `FILE: NAME` for each file among `paths` (dirs searched through, on this machine) holding a secret. */
function grepLocal(paths: string[], needles: Map<string, string>): string[] {
  const hits: string[] = [];
  if (paths.length === 0) return hits;
  const grep = (args: string[]) => {
    const r = spawnSync('grep', [...args, ...paths], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.ok(r.status === 0 || r.status === 1, `grep: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean);
  };
  for (const [name, value] of needles)
    for (const f of grep(['-rlF', '-D', 'skip', '-e', value])) hits.push(`${f}: ${name}`);
  hits.push(...encodedHits(grep([...blobGrep, '-D', 'skip']), needles));
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
  const tmpfs = '/run /tmp /dev/shm';
  // one grep per secret, its name after each file found: `PATH NAME`
  const script = [...needles]
    .map(([, v], k) => `grep -rlF -D skip -e '${v}' ${tmpfs} 2>/dev/null | sed 's|$| ${k}|'`)
    .join('\n');
  const names = [...needles.keys()];
  for (const line of mustSsh(setup, h, `${script}\ntrue\n`).split('\n').filter(Boolean)) {
    const at = line.lastIndexOf(' ');
    hits.push(`${line.slice(0, at)}: ${names[Number(line.slice(at + 1))]}`);
  }
  const blobs = mustSsh(
    setup,
    h,
    `grep ${blobGrep.map((a) => `'${a}'`).join(' ')} -D skip ${tmpfs} 2>/dev/null; true`,
  );
  hits.push(...encodedHits(blobs.split('\n').filter(Boolean), needles));
  for (const p of hostProcesses(h))
    for (const [name, value] of needles) if (p.includes(value)) hits.push(`process "${p}": ${name}`);
  return hits;
}

/** Hits that no entry of `allowed` explains. */
function unexplained(hits: string[], allowed: Required[]): string[] {
  return hits.filter((hit) => {
    const [path, name] = hit.split(': ') as [string, string];
    const bare = name.replace(/ \(gzip\+base64\)$/, '');
    return !allowed.some(
      (r) => r.path.test(path) && r.holds.some((h) => bare === h || bare.startsWith(`${h} `)),
    );
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

/** The lines among `lines` that hold a secret, plainly or in a gzip+base64 blob. */
function leakedLines(lines: string[], needles: Map<string, string>): string[] {
  return lines.filter(
    (l) =>
      [...needles.values()].some((v) => l.includes(v)) ||
      encodedHits(
        [...l.matchAll(/H4sI[A-Za-z0-9+/=]{60,}/g)].map((m) => `output:${m[0]}`),
        needles,
      ).length > 0,
  );
}

/** The driver state of a cluster in another BERTH_HOME, read with that home's key settings. */
async function loadDriverStateIn(cluster: string, env: Record<string, string>): Promise<unknown> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await loadDriverState(cluster);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** What a runtime's life differs in: its image, its own secrets and where it may keep them. */
interface RuntimeLife {
  runtime: 'k3s' | 'kubeadm' | 'k0s';
  cluster: string;
  image: string;
  setup: Pick<Parameters<typeof setupCluster>[1], 'init' | 'image'>;
  skip: string | false;
  /** What the third host joins as: a node, or (k0s) a controller, which takes a controller join token. */
  added: '--nodes' | '--masters';
  required: Required[];
  /** The runtime's own secrets, read once all three hosts are in the cluster. */
  secrets(setup: ClusterSetup, cluster: string, a: SandboxHost): Promise<Array<[string, string]>>;
  /** Secrets the worker (the second host) must not hold: those of the control plane. */
  controlPlaneOnly?: RegExp;
  /** Also a second cluster sealed with BERTH_SECRET_KEY_FILE on the first host. */
  keyFileCluster?: string;
}

const rootSkip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

const lives: RuntimeLife[] = [
  {
    runtime: 'k3s',
    cluster: 't-sec',
    image: imageRef,
    setup: {},
    skip: rootSkip,
    added: '--nodes',
    required: k3sRequired,
    secrets: async (_setup, cluster) => {
      const driver = (await loadDriverState(cluster)) as { token: string; agentToken: string };
      return [
        ['token', driver.token],
        ['agentToken', driver.agentToken],
      ];
    },
    keyFileCluster: 't-sec-kf',
  },
  {
    runtime: 'kubeadm',
    cluster: 't-sec-kadm',
    image: `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`,
    setup: {
      init: 'systemd',
      image: { tag: `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`, distribution: 'kubeadm' },
    },
    skip: rootSkip || (testInit === 'sshd' && "the example kubeadm image's check hook needs systemd"),
    added: '--nodes',
    required: kubeadmRequired,
    secrets: async (_setup, cluster) => {
      const driver = (await loadDriverState(cluster)) as KubeadmState;
      return [
        ['bootstrapToken', driver.bootstrapToken],
        ['bootstrapToken secret', driver.bootstrapToken.split('.')[1] ?? ''],
        ['ca.key', pemLine(driver.cas.ca.key)],
        ['front-proxy-ca.key', pemLine(driver.cas.frontProxyCa.key)],
        ['etcd/ca.key', pemLine(driver.cas.etcdCa.key)],
        ['sa.key', pemLine(driver.cas.sa.privateKey)],
      ];
    },
    controlPlaneOnly: /ca\.key|sa\.key/,
  },
  {
    runtime: 'k0s',
    cluster: 't-sec-k0s',
    image: `example/k0s:${K0S_EXAMPLE_VERSION.replace('+', '-')}`,
    setup: { image: { tag: `example/k0s:${K0S_EXAMPLE_VERSION.replace('+', '-')}`, distribution: 'k0s' } },
    skip: rootSkip,
    added: '--masters',
    required: k0sRequired,
    secrets: async (setup, cluster, a) => {
      const secrets = JSON.parse(
        kubectl(join(setup.home, cluster, 'kubeconfig'), [
          'get',
          'secrets',
          '-n',
          'kube-system',
          '-o',
          'json',
        ]),
      ) as { items: Array<{ type: string; data: Record<string, string> }> };
      const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString('utf8');
      const tokens = secrets.items
        .filter((s) => s.type === 'bootstrap.kubernetes.io/token')
        .flatMap((s): Array<[string, string]> => {
          const role = b64(s.data['usage-controller-join']) === 'true' ? 'controller' : 'worker';
          const id = b64(s.data['token-id']);
          const secret = b64(s.data['token-secret']);
          return [
            [`${role} token ${id}`, `${id}.${secret}`],
            [`${role} token ${id} secret`, secret],
          ];
        });
      assert.ok(
        tokens.some(([n]) => n.startsWith('controller token')) &&
          tokens.some(([n]) => n.startsWith('worker token')),
        `a worker and a controller join token among the bootstrap-token Secrets: ${tokens.map(([n]) => n).join(', ')}`,
      );
      const key = (file: string) => pemLine(mustSsh(setup, a, `cat /var/lib/k0s/pki/${file}`));
      return [
        ...tokens,
        ['ca.key', key('ca.key')],
        ['sa.key', key('sa.key')],
        ['etcd/ca.key', key('etcd/ca.key')],
      ];
    },
    controlPlaneOnly: /ca\.key|sa\.key|^controller token/,
  },
];

/**
 * The life of `life`'s cluster on three hosts: run on a (master) and b (node, password login only), add c,
 * delete it, reset; the image pulled from a registry that wants a `berth login`.
 */
async function clusterLife(t: TestContext, life: RuntimeLife): Promise<void> {
  const { cluster } = life;
  // set before the sandbox is made, so that its record is sealed with the passphrase too
  process.env.BERTH_PASSPHRASE = marks.passphrase;
  t.after(() => {
    delete process.env.BERTH_PASSPHRASE;
    delete process.env.DOCKER_CONFIG;
  });
  const outside = mkdtempSync(join(tmpdir(), `${cluster}-outside-`));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  process.env.DOCKER_CONFIG = join(outside, 'docker');
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 3, ...life.setup });
  const { sb, home } = setup;
  const [a, b, c] = sb.hosts as [SandboxHost, SandboxHost, SandboxHost];
  const stateDir = join(home, cluster);
  const runs: Run[] = [];
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = Object.keys(env).length
      ? { ...(await runBerth(args, env)), signal: null, ms: 0 }
      : await berth(args, 600_000);
    runs.push(r);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r;
  };
  const started = Date.now();

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
  const remoteRef = `${reg.host}/${life.image}`;
  const login = await runBerth(
    ['login', reg.host, '-u', loginUser, '--password-stdin', '--debug'],
    {},
    marks.loginPassword,
  );
  runs.push({ ...login, signal: null, ms: 0 });
  assert.equal(login.code, 0, login.stderr);
  await ok(['tag', life.image, remoteRef]);
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
  await ok(['add', life.added, c.ip, '--cluster', cluster, '--debug']);
  assertReadyNodes(join(stateDir, 'kubeconfig'), [a.ip, b.ip, c.ip]);

  const needles = new Map<string, string>([
    ...Object.entries(marks),
    ...(await life.secrets(setup, cluster, a)),
    ['generatedRegistryPassword', (await loadOrCreateSecrets(cluster)).registryPassword],
    ['loginAuth', Buffer.from(`${loginUser}:${marks.loginPassword}`).toString('base64')],
    ...sb.hosts.flatMap((h) => [
      [`${h.name} root password`, h.rootPassword] as [string, string],
      [`${h.name} user password`, h.userPassword] as [string, string],
    ]),
  ]);

  await t.test(`the hosts hold secrets only where ${life.runtime} reads them`, () => {
    const allowed = new Set<string>();
    const wrong: string[] = [];
    for (const [i, h] of sb.hosts.entries()) {
      const hits = grepHost(setup, h, i, needles);
      for (const hit of hits) allowed.add(`${h.ip} ${hit}`);
      wrong.push(...unexplained(hits, life.required).map((l) => `${h.ip} ${l}`));
    }
    console.log(`allowed on the hosts: ${[...allowed].sort().join('; ')}`);
    assert.deepEqual(wrong, []);
    const only = life.controlPlaneOnly;
    if (only)
      assert.deepEqual(
        [...allowed].filter((l) => l.startsWith(`${b.ip} `) && only.test(l.split(': ')[1] ?? '')),
        [],
        'the worker holds no secret of the control plane',
      );
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
        const r = await runBerth(['delete', life.added, c.ip, '--cluster', cluster], env);
        runs.push({ ...r, signal: null, ms: 0 });
        assert.equal(r.code, 3, r.stderr);
        const lines = r.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0] as string, /passphrase|sealed with/);
        assert.deepEqual(stateDigest(home), before, 'the refused command changed the state');
      }
    },
  );

  await ok(['delete', life.added, c.ip, '--cluster', cluster, '--debug']);
  assertReadyNodes(join(stateDir, 'kubeconfig'), [a.ip, b.ip]);
  await ok(['reset', '--cluster', cluster, '--debug']);

  const kfCluster = life.keyFileCluster;
  if (kfCluster)
    await t.test('a cluster sealed with BERTH_SECRET_KEY_FILE: the key stays off the disk', async () => {
      const kfHome = join(outside, 'home-kf');
      const keyFile = join(outside, 'secret-key');
      writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
      const env = { BERTH_HOME: kfHome, BERTH_PASSPHRASE: '', BERTH_SECRET_KEY_FILE: keyFile };
      await ok(['pull', remoteRef], env);
      const args = ['run', remoteRef, '--cluster', kfCluster, '--masters', a.ip];
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
      const wrong = await runBerth(['status', '--cluster', kfCluster], {
        ...env,
        BERTH_SECRET_KEY_FILE: otherKey,
      });
      runs.push({ ...wrong, signal: null, ms: 0 });
      assert.equal(wrong.code, 3, wrong.stderr);
      assert.equal(wrong.stderr.split('\n').filter(Boolean).length, 1, wrong.stderr);
      assert.match(wrong.stderr, /BERTH_SECRET_KEY_FILE=.*other-key is not the key/);
      assert.deepEqual(stateDigest(kfHome), before, 'the refused command changed the state');
      const kfDriver = (await loadDriverStateIn(kfCluster, env)) as { token: string; agentToken: string };
      needles.set('key-file cluster token', kfDriver.token);
      needles.set('key-file cluster agentToken', kfDriver.agentToken);
      assert.deepEqual(grepLocal(berthFiles(kfHome), needles), [], 'a secret in plain text under BERTH_HOME');
      await ok(['reset', '--cluster', kfCluster, '--debug'], env);
    });

  await t.test('after reset no host holds any secret, BERTH_HOME none, the output none', () => {
    for (const [i, h] of sb.hosts.entries())
      assert.deepEqual(grepHost(setup, h, i, needles), [], `${h.ip} keeps a secret after reset`);
    assert.deepEqual(grepLocal(berthFiles(home), needles), [], 'a secret in plain text under BERTH_HOME');
    assert.deepEqual(leakedLines(outputLines(runs), needles), [], 'a line berth printed holds a secret');
    // docker's config.json keeps the login as docker, podman and buildah read it (base64), never plainly
    assert.equal(
      readFileSync(join(outside, 'docker', 'config.json'), 'utf8').includes(marks.loginPassword),
      false,
    );
    console.log(
      `${life.runtime}: ${needles.size} secrets looked for in ${outputLines(runs).length} output lines; the life took ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  });
}

for (const life of lives)
  test(
    `${life.runtime}: secrets never in plain text in files here, files on the hosts, output`,
    {
      skip: life.skip,
    },
    (t) => clusterLife(t, life),
  );

// The k0s stand-in's pieces that need no host: its command line as k0s's (flags per command, unit
// arguments), the strict ClusterConfig per minor, join tokens by role, containerd's drop-in merge, reset's
// mount order, the node-local balancer, and the one-file executable answering as k0s does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadClusterConfig } from '../stand-ins/k0s/cluster-config.js';
import { containerdFiles, MANAGED_MARKER, parseToml } from '../stand-ins/k0s/containerd-config.js';
import { writeK0sStandIn } from '../stand-ins/k0s/install.js';
import { serviceArgs } from '../stand-ins/k0s/install-command.js';
import {
  decodeJoinToken,
  decodeJoinTokenFor,
  encodeJoinToken,
  newTokenSecret,
  secretRole,
  validControllerToken,
} from '../stand-ins/k0s/join-token.js';
import { COMMAND_FLAGS } from '../stand-ins/k0s/k0s-flags.js';
import { k0sUnit } from '../stand-ins/k0s/k0s-service.js';
import { NodeLocalBalancer } from '../stand-ins/k0s/nllb-proxy.js';
import { mountsUnder } from '../stand-ins/k0s/reset-command.js';
import { generateToken, parseToken, tokenSecretName } from '../stand-ins/kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../stand-ins/kube-api/kube-object.js';
import { FlagError, parseFlags } from '../stand-ins/kubeadm/cobra-flags.js';

const v129 = { minor: 29, patch: 4 };

test('k0s flags: each command takes its own flag sets, others are refused in pflag words', () => {
  const ok = parseFlags(
    ['--enable-worker', '--no-taints', '-c', '/etc/k0s/k0s.yaml', '--labels=a=b,c=d'],
    COMMAND_FLAGS['install controller']!,
  );
  assert.equal(ok.values.get('enable-worker'), true);
  assert.deepEqual(ok.values.get('labels'), ['a=b', 'c=d']);
  assert.throws(() => parseFlags(['--enable-worker'], COMMAND_FLAGS['install worker']!), {
    message: 'unknown flag: --enable-worker',
  });
  assert.throws(() => parseFlags(['--debug'], COMMAND_FLAGS.start!), FlagError);
  assert.throws(() => parseFlags(['-x'], COMMAND_FLAGS['token create']!), {
    message: "unknown shorthand flag: 'x' in -x",
  });
});

test('k0s install: the unit runs the role and the set flags by name as --name=value, --env/--force left out', () => {
  const { values } = parseFlags(
    ['--single', '-c', 'k0s.yaml', '--force', '-e', 'HTTP_PROXY=x', '--labels', 'a=b,c=d'],
    COMMAND_FLAGS['install controller']!,
  );
  assert.deepEqual(serviceArgs('controller', values), [
    'controller',
    `--config=${join(process.cwd(), 'k0s.yaml')}`,
    '--labels=a=b,c=d',
    '--single=true',
  ]);
  const unit = k0sUnit(['/usr/local/bin/k0s', 'controller', '--single=true'], ['HTTP_PROXY=x']);
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/k0s controller --single=true$/m);
  assert.match(unit, /^Environment="HTTP_PROXY=x"$/m);
  for (const line of [
    'Description=k0s - Zero Friction Kubernetes',
    'KillMode=process',
    'Delegate=yes',
    'RestartSec=10',
  ])
    assert.ok(unit.split('\n').includes(line), line);
});

test('k0s ClusterConfig: strict per minor, interval and podSecurityPolicy ignored, defaults', () => {
  const c = loadClusterConfig(
    'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  api:\n    address: 10.0.0.5\n    sans: [a.example]\n  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n  podSecurityPolicy:\n    defaultPolicy: x\n',
    v129,
  );
  assert.deepEqual([c.address, c.port, c.k0sApiPort, c.peerAddress], ['10.0.0.5', 6443, 9443, '10.0.0.5']);
  assert.deepEqual(c.sans, ['a.example']);
  assert.deepEqual(c.nllb, { enabled: true, apiServerBindPort: 7443, konnectivityServerBindPort: 7132 });
  assert.throws(() => loadClusterConfig('spec:\n  api:\n    bogus: 1\n', v129), {
    message: 'error unmarshaling JSON: while decoding JSON: json: unknown field "bogus"',
  });
  const cplb = 'spec:\n  network:\n    controlPlaneLoadBalancing:\n      enabled: false\n';
  assert.throws(() => loadClusterConfig(cplb, v129), ConfigError);
  assert.equal(loadClusterConfig(cplb, { minor: 30, patch: 0 }).port, 6443);
  const extra = 'spec:\n  network:\n    kuberouter:\n      extraArgs: {}\n';
  assert.throws(() => loadClusterConfig(extra, { minor: 28, patch: 15 }), /unknown field "extraArgs"/);
  assert.throws(
    () => loadClusterConfig('spec:\n  network:\n    provider: flannel\n', v129),
    /Unsupported value: "flannel"/,
  );
});

test('k0s join tokens: gzip+base64 kubeconfig by role, wrong role refused, controller tokens checked against their Secret', () => {
  const token = generateToken();
  const encoded = encodeJoinToken('controller', 'https://10.0.0.5:9443', 'CA PEM', token);
  const t = decodeJoinToken(encoded);
  assert.deepEqual(
    [t.user, t.server, t.caPem, t.token],
    ['controller-bootstrap', 'https://10.0.0.5:9443', 'CA PEM', token],
  );
  assert.throws(() => decodeJoinTokenFor('worker', encoded), {
    message: 'wrong token type controller-bootstrap, expected type: kubelet-bootstrap',
  });
  const ctrl = newTokenSecret('controller', new Date(Date.now() + 60_000));
  const worker = newTokenSecret('worker');
  const expired = newTokenSecret('controller', new Date(Date.now() - 1_000));
  assert.equal(secretRole(ctrl.secret), 'controller');
  assert.equal(secretRole(worker.secret), 'worker');
  const secrets = [ctrl.secret, worker.secret, expired.secret];
  assert.equal(validControllerToken(ctrl.token, secrets), true);
  assert.equal(validControllerToken(worker.token, secrets), false);
  assert.equal(validControllerToken(expired.token, secrets), false);
  const { id } = parseToken(ctrl.token)!;
  assert.equal(ctrl.secret.metadata.name, tokenSecretName(id));
});

test('k0s containerd: CRI drop-ins merged into the CRI file, others imported, an unmanaged file left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 't-k0s-ctrd-'));
  try {
    writeFileSync(
      join(dir, '10-mirror.toml'),
      '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/k0s/certs.d"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n',
    );
    writeFileSync(join(dir, '20-debug.toml'), '[debug]\n  level = "debug"\n');
    const files = containerdFiles(
      dir,
      '/run/k0s/containerd-cri.toml',
      undefined,
      'registry.k8s.io/pause:3.9',
    );
    const cri = parseToml(files.cri) as KubeObject;
    assert.deepEqual(cri.plugins['io.containerd.grpc.v1.cri'], {
      sandbox_image: 'registry.k8s.io/pause:3.9',
      registry: { config_path: '/etc/k0s/certs.d' },
      containerd: { snapshotter: 'native' },
    });
    assert.equal(files.main?.split('\n')[0], MANAGED_MARKER);
    assert.deepEqual(parseToml(files.main!).imports, [
      join(dir, '20-debug.toml'),
      '/run/k0s/containerd-cri.toml',
    ]);
    assert.equal(containerdFiles(dir, '/x', 'version = 2\n', 'p').main, undefined);
    mkdirSync(join(dir, 'bad'));
    writeFileSync(join(dir, 'bad', 'x.toml'), '[plugins\n');
    assert.throws(() => containerdFiles(join(dir, 'bad'), '/x', undefined, 'p'), /failed to parse .*x\.toml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('k0s reset: mounts under the data dir, deepest first', () => {
  const info = [
    '1 0 0:1 / / rw - overlay overlay rw',
    '2 1 0:2 / /var/lib/k0s/kubelet rw - tmpfs tmpfs rw',
    '3 2 0:3 / /var/lib/k0s/kubelet/pods/a\\040b/volumes/x rw - tmpfs tmpfs rw',
    '4 1 0:4 / /var/lib/k0sx rw - tmpfs tmpfs rw',
  ].join('\n');
  assert.deepEqual(mountsUnder(info, '/var/lib/k0s'), [
    '/var/lib/k0s/kubelet/pods/a b/volumes/x',
    '/var/lib/k0s/kubelet',
  ]);
});

test('k0s executable: version, unknown commands and flags, config validate in k0s words', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 't-k0s-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeK0sStandIn(join(dir, 'bin'), 'v1.30.2+k0s.0');
  const k0s = (...args: string[]) => spawnSync(join(dir, 'bin', 'k0s'), args, { encoding: 'utf8' });
  assert.equal(k0s('version').stdout, 'v1.30.2+k0s.0\n');
  const unknown = k0s('bogus');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^Error: unknown command "bogus" for "k0s"$/m);
  assert.equal(k0s('install', 'worker', '--single').stderr, 'Error: unknown flag: --single\n');
  writeFileSync(
    join(dir, 'k0s.yaml'),
    'spec:\n  network:\n    controlPlaneLoadBalancing:\n      enabled: false\n',
  );
  assert.equal(k0s('config', 'validate', '-c', join(dir, 'k0s.yaml')).status, 0);
  writeFileSync(join(dir, 'bad.yaml'), 'spec:\n  storage:\n    etcd:\n      peerAdress: x\n');
  const bad = k0s('config', 'validate', '--config', join(dir, 'bad.yaml'));
  assert.equal(bad.status, 1);
  assert.equal(
    bad.stderr,
    'Error: error unmarshaling JSON: while decoding JSON: json: unknown field "peerAdress"\n',
  );
  const both = k0s('worker', '--token-file', join(dir, 'k0s.yaml'), 'abc');
  assert.match(both.stderr, /you can only pass one token argument/);
});

/** A port nothing listens on (bound and released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('k0s node-local balancer: connections reach a live upstream, one that refuses is skipped', async (t) => {
  const echo = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  t.after(() => echo.close());
  const live = (echo.address() as AddressInfo).port;
  const bindPort = await freePort();
  const balancer = new NodeLocalBalancer(bindPort);
  balancer.setUpstreams([
    { host: '127.0.0.1', port: await freePort() },
    { host: '127.0.0.1', port: live },
  ]);
  await balancer.start();
  t.after(() => balancer.stop());
  for (let i = 0; i < 4; i++) {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(bindPort, '127.0.0.1', () => c.write(`ping${i}`));
      c.once('data', (d) => {
        resolve(d.toString());
        c.destroy();
      });
      c.once('error', reject);
    });
    assert.equal(reply, `ping${i}`);
  }
});

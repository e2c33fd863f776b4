// Runs the generated k3s stand-in (bin/k3s + bundle) on loopback addresses with temp data dirs and checks it
// with the real kubectl and @kubernetes/client-node.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { onFreePort, PortInUseError, saysPortInUse } from '../helpers/ports.js';
import { parseClusterToken } from '../stand-ins/k3s/cluster-token.js';
import { writeK3sStandIn } from '../stand-ins/k3s/install.js';
import { buildNodeObject, NODE_GRACE_MS, withLiveness } from '../stand-ins/k3s/node-object.js';
import { parseYamlSubset } from '../stand-ins/k3s/yaml-subset.js';
import type { KubeObject } from '../stand-ins/kube-api/kube-object.js';

const root = mkdtempSync(join(tmpdir(), 't-k3s-standin-'));
// Commands given no data dir (--version, the kubectl link) unpack the stand-in into this one, not the machine's.
process.env.K3S_DATA_DIR = join(root, 'data-default');
const bin = join(root, 'bin');
const k3s = join(bin, 'k3s');
const running: ChildProcess[] = [];

interface Proc {
  child: ChildProcess;
  output: () => string;
}

/** Not the embedded containerd: its socket path is machine-wide (see test/e2e/k3s-standin-containerd.test.ts). */
const EXTERNAL_CRI = 'unix:///run/t-k3s-standin/cri.sock';

function start(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const etc = join(root, `etc-${name}`);
  const runtime = ['--container-runtime-endpoint', EXTERNAL_CRI];
  const child = spawn(k3s, [...args, ...runtime], {
    env: {
      ...process.env,
      BERTH_STANDIN_ETC_RANCHER_DIR: etc,
      K3S_CONFIG_FILE: join(etc, 'none.yaml'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  running.push(child);
  return { child, output: () => out };
}

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  p.child.kill('SIGTERM');
  return exited;
}

/**
 * Starts a k3s server that listens on `port` and waits until it is up; PortInUseError when another
 * process took the port first (onFreePort then tries another).
 */
async function startServer(
  name: string,
  port: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<Proc> {
  const p = start(name, args, env);
  await waitFor(`server ${name} up`, 20_000, () =>
    /k3s is up and running/.test(p.output()) || p.child.exitCode !== null ? true : undefined,
  );
  if (p.child.exitCode === null) return p;
  if (saysPortInUse(p.output())) throw new PortInUseError(port, p.output().trim().split('\n').pop() ?? '');
  throw new Error(`server ${name} exited ${p.child.exitCode}:\n${p.output()}`);
}

/** Polls `check` every 250 ms until it returns a value or `ms` passes. */
async function waitFor<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(root, 'kcache'), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

async function nodeNames(kubeconfig: string): Promise<string[] | undefined> {
  const r = await kubectl(kubeconfig, 'get', 'nodes', '-o', 'name');
  return r.code === 0
    ? r.out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace('node/', ''))
        .sort()
    : undefined;
}

before(async () => {
  await writeK3sStandIn(bin);
});

after(async () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

describe('k3s stand-in command line', () => {
  test('--version prints the k3s version and go version lines', () => {
    const r = spawnSync(k3s, ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^k3s version v1\.28\.\d+\+k3s1 \([0-9a-f]{8}\)\ngo version go1\.\d+\.\d+\n$/);
  });

  test('an unknown flag fails like urfave/cli: usage on stdout, fatal on stderr, status 1', () => {
    const r = spawnSync(k3s, ['server', '--bogus-flag=1'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /^Incorrect Usage: flag provided but not defined: -bogus-flag\n\nNAME:\n {3}k3s server/,
    );
    assert.match(r.stderr, /level=fatal msg="flag provided but not defined: -bogus-flag"/);
  });

  test('a server-only flag is unknown to the agent, also from its config file', () => {
    const dir = join(root, 'agent-conf');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), 'cluster-init: true\n');
    const r = spawnSync(k3s, ['agent', '--server', 'https://127.0.0.1:1', '--token', 'x'], {
      encoding: 'utf8',
      env: { ...process.env, K3S_CONFIG_FILE: join(dir, 'config.yaml') },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /flag provided but not defined: -cluster-init/);
  });

  test('the agent refuses a malformed registries.yaml before contacting any server', () => {
    const file = join(root, 'bad-registries.yaml');
    writeFileSync(file, 'mirrors:\n  docker.io:\n    endpoint: "not-a-list"\n');
    const r = spawnSync(
      k3s,
      ['agent', '-s', 'https://127.0.0.1:1', '-t', 'x', '--private-registry', file, '-d', join(root, 'bad')],
      {
        encoding: 'utf8',
        env: { ...process.env, BERTH_STANDIN_ETC_RANCHER_DIR: join(root, 'etc-bad') },
        timeout: 10_000,
      },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /failed to validate private registry configuration: .*mirrors\.docker\.io\.endpoint/,
    );
  });

  test('the kubectl multicall link runs the host kubectl', () => {
    const r = spawnSync(join(bin, 'kubectl'), ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(JSON.parse(r.stdout).clientVersion.gitVersion, /^v1\./);
  });
});

describe('k3s stand-in helpers', () => {
  test('tokens: full, bare password and bad hash forms', () => {
    const hash = 'a'.repeat(64);
    assert.deepEqual(parseClusterToken(`K10${hash}::server:pw`), {
      caHash: hash,
      username: 'server',
      password: 'pw',
    });
    assert.deepEqual(parseClusterToken('plainsecret'), { caHash: '', username: '', password: 'plainsecret' });
    assert.throws(() => parseClusterToken('K10abc::server:pw'), /invalid token CA hash length/);
  });

  test('a node whose heartbeat is older than the grace period reads NotReady/Unknown', () => {
    const node = buildNodeObject({
      name: 'n',
      internalIp: '10.0.0.1',
      externalIps: [],
      labels: [],
      taints: [],
      server: false,
      etcd: false,
      nodeArgs: [],
    });
    node.metadata.creationTimestamp = new Date().toISOString();
    const ready = (n: typeof node) =>
      n.status.conditions.find((c: { type: string }) => c.type === 'Ready').status;
    assert.equal(ready(withLiveness(node, Date.now())), 'True');
    assert.equal(ready(withLiveness(node, Date.now() + NODE_GRACE_MS + 2000)), 'Unknown');
  });

  test('the YAML subset reads k3s config shapes', () => {
    const doc = parseYamlSubset(
      'a: 1\nlist:\n- x\n- "y"\nflow: [p, q]\nmap:\n  "h:5000":\n    k: true # c\n',
    );
    assert.deepEqual(doc, { a: 1, list: ['x', 'y'], flow: ['p', 'q'], map: { 'h:5000': { k: true } } });
  });
});

describe('k3s stand-in cluster', () => {
  let port1 = 0;
  let server1: Proc;
  let server2: Proc | undefined;
  const kc1 = join(root, 'kc1.yaml');
  const kc2 = join(root, 'kc2.yaml');
  const data1 = join(root, 's1');

  before(async () => {
    const etc = join(root, 'etc-s1');
    mkdirSync(join(etc, 'k3s', 'config.yaml.d'), { recursive: true });
    writeFileSync(
      join(etc, 'k3s', 'config.yaml.d', '10-extra.yaml'),
      'node-label+:\n  - t-k3s/drop-in=yes\n',
    );
    const config = (port: number) =>
      [
        'cluster-init: true',
        `data-dir: ${data1}`,
        'node-name: t-k3s-s1',
        'node-ip: 127.0.0.1',
        'bind-address: 127.0.0.1',
        `https-listen-port: ${port}`,
        `write-kubeconfig: ${kc1}`,
        'write-kubeconfig-mode: "0644"',
        'token: t-k3s-secret',
        'node-label:',
        '  - t-k3s/from-config=yes',
        'tls-san: [t-k3s.example]',
        'kublet-arg: typo',
        '',
      ].join('\n');
    server1 = await onFreePort(async (port) => {
      port1 = port;
      // a start that lost its port to another process leaves its files: each try starts from none
      rmSync(data1, { recursive: true, force: true });
      writeFileSync(join(etc, 'k3s', 'config.yaml'), config(port));
      return startServer('s1', port, ['server'], {
        K3S_CONFIG_FILE: join(etc, 'k3s', 'config.yaml'),
        K3S_DATA_DIR: data1,
      });
    });
  });

  test('server writes k3s files and honours config.yaml, drop-ins and unknown-key warnings', () => {
    const token = readFileSync(join(data1, 'server', 'token'), 'utf8').trim();
    assert.match(token, /^K10[0-9a-f]{64}::server:t-k3s-secret$/);
    assert.ok(lstatSync(join(data1, 'server', 'node-token')).isSymbolicLink());
    assert.ok(lstatSync(join(data1, 'server', 'agent-token')).isSymbolicLink());
    for (const f of ['server-ca', 'client-ca', 'serving-kube-apiserver', 'client-admin']) {
      assert.ok(existsSync(join(data1, 'server', 'tls', `${f}.crt`)), f);
      assert.ok(existsSync(join(data1, 'server', 'tls', `${f}.key`)), f);
    }
    assert.ok(statSync(join(data1, 'agent', 'pod-manifests')).isDirectory());
    // an external CRI socket: k3s starts no containerd and points crictl at the given socket
    assert.equal(
      readFileSync(join(data1, 'agent', 'etc', 'crictl.yaml'), 'utf8'),
      `runtime-endpoint: ${EXTERNAL_CRI}\n`,
    );
    assert.ok(!existsSync(join(data1, 'agent', 'etc', 'containerd', 'config.toml')));
    assert.doesNotMatch(server1.output(), /Running containerd/);
    assert.ok(existsSync(join(root, 'etc-s1', 'node', 'password')));
    assert.equal(statSync(kc1).mode & 0o777, 0o644);
    assert.match(readFileSync(kc1, 'utf8'), new RegExp(`server: https://127\\.0\\.0\\.1:${port1}`));
    assert.match(server1.output(), /Unknown flag --kublet-arg found in config\.yaml, skipping/);
  });

  test('kubectl get nodes shows one Ready control-plane node', async () => {
    const r = await kubectl(kc1, 'get', 'nodes');
    assert.equal(r.code, 0, r.out);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    assert.equal(lines.length, 2);
    assert.match(lines[1], /^t-k3s-s1\s+Ready\s+control-plane,etcd,master\s+\S+\s+v1\.28\.\d+\+k3s1$/);
    const labels = JSON.parse((await kubectl(kc1, 'get', 'node', 't-k3s-s1', '-o', 'json')).out).metadata
      .labels;
    assert.equal(labels['t-k3s/from-config'], 'yes');
    assert.equal(labels['t-k3s/drop-in'], 'yes');
    assert.equal(labels['node-role.kubernetes.io/control-plane'], 'true');
    assert.equal(labels['kubernetes.io/hostname'], 't-k3s-s1');
  });

  test('kubectl applies a Deployment; its pods, bound to the node, wait in ErrImagePull without a CRI', async () => {
    const manifest = join(root, 'workloads.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web, namespace: default}',
        'spec:',
        '  replicas: 2',
        '  selector: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec: {containers: [{name: web, image: "nginx:1.25"}]}',
        '',
      ].join('\n'),
    );
    const applied = await kubectl(kc1, 'apply', '-f', manifest);
    assert.equal(applied.code, 0, applied.out);
    // The node's CRI socket does not exist here (EXTERNAL_CRI), so the kubelet's pulls fail.
    const waiting = await waitFor('pods in ErrImagePull', 20_000, async () => {
      const r = await kubectl(kc1, 'get', 'pods', '-l', 'app=web', '-o', 'json');
      const items = r.code === 0 ? (JSON.parse(r.out).items as KubeObject[]) : [];
      const reasons = items.map((p) => p.status?.containerStatuses?.[0]?.state?.waiting);
      return items.length === 2 && reasons.every((w) => w?.reason === 'ErrImagePull') ? items : undefined;
    });
    assert.deepEqual(
      waiting.map((p) => p.spec.nodeName),
      ['t-k3s-s1', 't-k3s-s1'],
    );
    assert.match(
      waiting[0]!.status.containerStatuses[0].state.waiting.message,
      /failed to pull and unpack image "nginx:1.25": .*cri\.sock/,
    );
    const rollout = await kubectl(kc1, 'rollout', 'status', 'deployment/web', '--timeout=2s');
    assert.notEqual(rollout.code, 0, rollout.out);
    const deleted = await kubectl(kc1, 'delete', '-f', manifest, '--timeout=30s');
    assert.equal(deleted.code, 0, deleted.out);
  });

  test('an agent with the cluster token registers; one with a wrong token does not', async () => {
    const token = readFileSync(join(data1, 'server', 'token'), 'utf8').trim();
    const url = `https://127.0.0.1:${port1}`;
    start('a1', [
      'agent',
      '--server',
      url,
      '--token',
      token,
      '-d',
      join(root, 'a1'),
      '--node-name',
      't-k3s-a1',
      '--node-ip',
      '127.0.0.5',
      '--node-taint',
      't-k3s=yes:NoSchedule',
    ]);
    const bad = start('a2', [
      'agent',
      '--server',
      url,
      '--token',
      'wrong-secret',
      '-d',
      join(root, 'a2'),
      '--node-name',
      't-k3s-a2',
    ]);
    const names = await waitFor('agent registered', 20_000, async () => {
      const n = await nodeNames(kc1);
      return n?.includes('t-k3s-a1') ? n : undefined;
    });
    assert.deepEqual(names, ['t-k3s-a1', 't-k3s-s1']);
    await waitFor('wrong-token agent rejected', 10_000, () =>
      /401 Unauthorized/.test(bad.output()) ? true : undefined,
    );
    assert.equal(bad.child.exitCode, null, 'the agent keeps retrying');
    assert.deepEqual(await nodeNames(kc1), ['t-k3s-a1', 't-k3s-s1']);
    assert.ok(existsSync(join(root, 'a1', 'agent', 'client-kubelet.crt')));
    assert.ok(existsSync(join(root, 'etc-a1', 'node', 'password')));
    await stop(bad);
  });

  test('@kubernetes/client-node lists, reads and patches nodes', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kc1);
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const list = await api.listNode();
    assert.deepEqual(list.items.map((n) => n.metadata?.name).sort(), ['t-k3s-a1', 't-k3s-s1']);
    assert.ok(list.metadata?.resourceVersion);
    const node = await api.readNode({ name: 't-k3s-a1' });
    assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, '127.0.0.5');
    assert.deepEqual(
      node.spec?.taints?.map((t) => `${t.key}=${t.value}:${t.effect}`),
      ['t-k3s=yes:NoSchedule'],
    );
    const patched = await api.patchNode({
      name: 't-k3s-a1',
      body: [{ op: 'add', path: '/metadata/labels/t-k3s~1patched', value: 'yes' }],
    });
    assert.equal(patched.metadata?.labels?.['t-k3s/patched'], 'yes');
  });

  test('a second server joins; with the first stopped it still lists every node', async () => {
    const token = readFileSync(join(data1, 'server', 'token'), 'utf8').trim();
    server2 = await onFreePort((port) => {
      rmSync(join(root, 's2'), { recursive: true, force: true });
      return startServer('s2', port, [
        'server',
        '--server',
        `https://127.0.0.1:${port1}`,
        '--token',
        token,
        '--data-dir',
        join(root, 's2'),
        '--node-name',
        't-k3s-s2',
        '--node-ip',
        '127.0.0.2',
        '--bind-address',
        '127.0.0.2',
        '--https-listen-port',
        String(port),
        '--write-kubeconfig',
        kc2,
      ]);
    });
    const all = ['t-k3s-a1', 't-k3s-s1', 't-k3s-s2'];
    await waitFor('server 1 sees server 2', 10_000, async () =>
      (await nodeNames(kc1))?.length === 3 ? true : undefined,
    );
    assert.deepEqual(await nodeNames(kc2), all);
    assert.equal(await stop(server1), 0);
    assert.deepEqual(await nodeNames(kc2), all);
    const r = await kubectl(kc2, 'get', 'nodes');
    assert.match(r.out, /t-k3s-s2\s+Ready\s+control-plane,etcd,master/);
  });

  test('kubectl delete node removes it from the cluster', async () => {
    const r = await kubectl(kc2, 'delete', 'node', 't-k3s-s1');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /node "t-k3s-s1" deleted/);
    assert.deepEqual(await nodeNames(kc2), ['t-k3s-a1', 't-k3s-s2']);
    const missing = await kubectl(kc2, 'get', 'node', 't-k3s-s1');
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /nodes "t-k3s-s1" not found/);
  });

  after(async () => {
    if (server2) await stop(server2);
    await stop(server1);
  });
});

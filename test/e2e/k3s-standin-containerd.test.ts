// The k3s stand-in's embedded containerd (the machine's real one) pulling through registries.yaml: a mirror for
// registry.k8s.io that needs basic auth. k3s's socket path /run/k3s/containerd is machine-wide with no flag to
// move it, so every stand-in here runs in its own mount namespace with a private tmpfs on /run; the test reaches
// that socket through /proc/<pid>/root and enters the namespace with nsenter for the multicall `ctr`.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeOciImage } from '../helpers/oci-fixture.js';
import { onFreePort, PortInUseError, saysPortInUse } from '../helpers/ports.js';
import { startRegistry, type TestRegistry } from '../helpers/test-registry.js';
import { criImageStatus, criPullImage } from '../stand-ins/k3s/cri-client.js';
import { writeK3sStandIn } from '../stand-ins/k3s/install.js';

const needed = ['containerd', 'skopeo', 'docker-registry', 'unshare', 'nsenter'];
const missing = needed.filter(
  (b) => !(process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, b))),
);
const skip =
  process.getuid?.() !== 0
    ? 'needs root (containerd, mount namespaces)'
    : missing.length
      ? `missing ${missing.join(', ')}`
      : false;

const root = mkdtempSync(join(tmpdir(), 't-k3s-ctd-'));
const bin = join(root, 'bin');
const dataDir = join(root, 'data');
// The ctr/crictl links given no data dir unpack the stand-in there, not into the machine's /var/lib/rancher.
process.env.K3S_DATA_DIR = dataDir;
const etc = join(root, 'etc');
const certsD = join(dataDir, 'agent', 'etc', 'containerd', 'certs.d');
const user = 't-k3s-ctd';
const password = randomBytes(12).toString('hex');
const image = 'registry.k8s.io/pause:3.9';
/** Every process the test started or caused (k3s and its containerd), killed by PID in after(). */
const pids = new Set<number>();
let registry: TestRegistry | undefined;

interface StandIn {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  ms: number,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 600 && Date.now() < deadline; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A live (non-zombie) process's parent PID and command name, or undefined. */
function procInfo(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : { ppid: Number(ppid), comm };
  } catch {
    return undefined;
  }
}

function childContainerd(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info?.ppid === parent && info.comm === 'containerd') return Number(entry);
  }
  return undefined;
}

/** `k3s server` in a private mount namespace whose /run is a fresh tmpfs, so /run/k3s is this run's own. */
function startStandIn(apiPort: number): StandIn {
  const child = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o mode=0755 t-k3s-ctd-run /run && exec "$0" "$@"',
      join(bin, 'k3s'),
      'server',
      '--data-dir',
      dataDir,
      '--node-name',
      't-k3s-ctd',
      '--node-ip',
      '127.0.0.1',
      '--bind-address',
      '127.0.0.1',
      '--https-listen-port',
      String(apiPort),
      '--write-kubeconfig',
      join(root, 'kubeconfig.yaml'),
      '--token',
      't-k3s-ctd-token',
      '--pause-image',
      image,
    ],
    {
      env: {
        ...process.env,
        BERTH_STANDIN_ETC_RANCHER_DIR: etc,
        K3S_CONFIG_FILE: join(etc, 'k3s', 'none.yaml'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  assert.ok(child.pid, 'unshare started');
  // unshare, sh and the k3s launcher all exec, so this PID ends up being the stand-in itself
  pids.add(child.pid);
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, pid: child.pid, output: () => out, exited };
}

/** The stand-in up and running on a free API port (another one when that port was taken), and its containerd. */
function upAndRunning(): Promise<{ k: StandIn; ctd: number }> {
  return onFreePort(async (apiPort) => {
    const k = startStandIn(apiPort);
    await waitFor('the stand-in to be up', 60_000, () => {
      if (k.child.exitCode === null) return /k3s is up and running/.test(k.output()) ? true : undefined;
      if (saysPortInUse(k.output()))
        throw new PortInUseError(apiPort, k.output().trim().split('\n').pop() ?? '');
      throw new Error(`k3s exited ${k.child.exitCode}:\n${k.output()}`);
    });
    const ctd = childContainerd(k.pid);
    assert.ok(ctd, `containerd is a child of k3s:\n${k.output()}`);
    pids.add(ctd);
    return { k, ctd };
  });
}

const socketOf = (k: StandIn) => `/proc/${k.pid}/root/run/k3s/containerd/containerd.sock`;

describe('k3s stand-in: embedded containerd and registries.yaml', { skip }, () => {
  before(async () => {
    await writeK3sStandIn(bin);
    registry = await startRegistry({ auth: { user, password } });
    const layout = join(root, 'oci');
    await writeOciImage(layout, '3.9', [
      {
        platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch },
        files: { 'bin/busybox': readFileSync('/bin/busybox') },
      },
    ]);
    const copy = await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${user}:${password}`,
      `oci:${layout}:3.9`,
      `docker://${registry.host}/pause:3.9`,
    ]);
    assert.equal(copy.code, 0, copy.out);
    mkdirSync(join(etc, 'k3s'), { recursive: true });
    writeFileSync(
      join(etc, 'k3s', 'registries.yaml'),
      [
        'mirrors:',
        '  registry.k8s.io:',
        '    endpoint:',
        `      - "http://${registry.host}"`,
        'configs:',
        `  "${registry.host}":`,
        '    auth:',
        `      username: ${user}`,
        `      password: "${password}"`,
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    for (const pid of pids) {
      if (procInfo(pid)) process.kill(pid, 'SIGKILL');
    }
    await registry?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('pulls a mirrored image with registry auth through the CRI; exits with containerd; restarts it with k3s', async () => {
    const { k: first, ctd } = await upAndRunning();
    const out = first.output();
    assert.match(out, /Logging containerd to .*agent\/containerd\/containerd\.log/);
    assert.match(
      out,
      /Running containerd -c \S+\/agent\/etc\/containerd\/config\.toml -a \/run\/k3s\/containerd\/containerd\.sock --state \/run\/k3s\/containerd --root \S+\/agent\/containerd/,
    );
    assert.match(out, /Containerd is now running/);
    assert.ok(existsSync(join(dataDir, 'agent', 'containerd', 'containerd.log')));
    assert.equal(existsSync('/run/k3s'), false, 'the machine-wide /run/k3s is untouched');

    const config = readFileSync(join(dataDir, 'agent', 'etc', 'containerd', 'config.toml'), 'utf8');
    assert.match(config, /^version = 2$/m);
    assert.ok(config.includes(`sandbox_image = "${image}"`), config);
    // the node waited for its sandbox image, pulled through the mirror with registries.yaml's auth
    assert.match(out, new RegExp(`Pulling sandbox image ${image.replace(/\./g, '\\.')}`));
    assert.match(config, /snapshotter = "overlayfs"/);
    assert.ok(config.includes(`config_path = "${certsD}"`), config);
    assert.ok(
      config.includes(
        `[plugins."io.containerd.grpc.v1.cri".registry.configs."${registry!.host}".auth]\n  username = "${user}"\n  password = "${password}"`,
      ),
      config,
    );
    const hosts = readFileSync(join(certsD, 'registry.k8s.io', 'hosts.toml'), 'utf8');
    assert.ok(hosts.includes(`[host."http://${registry!.host}/v2"]`), hosts);
    assert.ok(!hosts.includes(password), 'k3s keeps credentials out of hosts.toml');

    // the registry refuses anonymous pulls, so the CRI pull below succeeds only with config.toml's auth
    const anonymous = await run(join(bin, 'ctr'), [
      '--address',
      socketOf(first),
      'images',
      'pull',
      '--plain-http',
      `${registry!.host}/pause:3.9`,
    ]);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.out, /401|unauthorized/i);

    const ref = await criPullImage(socketOf(first), image);
    assert.match(ref, /^sha256:[0-9a-f]{64}$/);
    const listed = await run('nsenter', [
      '-t',
      String(first.pid),
      '-m',
      '--',
      join(bin, 'ctr'),
      'images',
      'ls',
      '-q',
    ]);
    assert.equal(listed.code, 0, listed.out);
    assert.ok(listed.out.split('\n').includes(image), listed.out);

    // containerd dying takes k3s down with status 1, as in k3s; the service manager restarts both
    process.kill(ctd, 'SIGKILL');
    assert.equal(await first.exited, 1);
    assert.match(first.output(), /containerd: signal: killed/);

    const { k: second, ctd: ctd2 } = await upAndRunning();
    assert.notEqual(ctd2, ctd);
    assert.equal(await criImageStatus(socketOf(second), image), ref, 'the image store lives in the data dir');

    // SIGTERM stops k3s, and containerd with it (parent-death signal)
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    await waitFor('containerd to end with k3s', 10_000, () => (procInfo(ctd2) ? undefined : true));
  });
});

// The example kubeadm cluster image (examples/kubeadm) built offline as the demo builds it, then looked at
// through the CLI: `berth inspect` shows a rootfs image with no distribution label (so kubeadm), the
// Kubernetes version and the hooks; `berth create` unpacks the sealos layout: bin/ with the stand-ins and the
// machine's kubectl, cri/ with the machine's containerd and runc, etc/kubeadm.yml, the hook scripts, and
// every image kubeadm pulls saved in registry/ without its source registry host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildExampleImage, KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const tag = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;

test('the example kubeadm image: labels, env and the sealos rootfs layout', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'berth-kubeadm-image-'));
  const home = join(work, 'home');
  const saved = process.env.BERTH_HOME;
  process.env.BERTH_HOME = home;
  t.after(() => {
    if (saved === undefined) delete process.env.BERTH_HOME;
    else process.env.BERTH_HOME = saved;
    rmSync(work, { recursive: true, force: true });
  });
  const built = await buildExampleImage({ tag, workDir: join(work, 'build'), distribution: 'kubeadm' });
  assert.deepEqual(built, { ref: tag, standIn: true });

  const berth = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: process.env, encoding: 'utf8' });
    assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const info = JSON.parse(berth('inspect', tag, '--json')) as {
    labels: Record<string, string>;
    env: string[];
  };
  const labels = info.labels;
  assert.equal(labels['sealos.io.type'], 'rootfs');
  assert.equal(labels['sealos.io.version'], 'v1beta1');
  assert.equal(labels.version, 'v1.29.3');
  assert.equal(labels.check, 'check.sh $registryData');
  assert.equal(labels.init, 'init.sh');
  assert.equal(labels.clean, 'clean.sh');
  for (const key of ['apps.sealos.io/distribution', 'sealos.io.distribution'])
    assert.equal(labels[key], undefined, `${key} must be absent: kubeadm images carry no distribution label`);
  const env = info.env;
  for (const e of [
    'registryDomain=sealos.hub',
    'registryPort=5000',
    'sandboxImage=pause:3.9',
    'criData=/var/lib/containerd',
  ])
    assert.ok(env.includes(e), `env has ${e}: ${env.join(' ')}`);

  const root = berth('create', tag, '--name', 'kubeadm-example').trim();
  t.after(() => spawnSync(process.execPath, [bin, 'umount', 'kubeadm-example'], { env: process.env }));
  assert.deepEqual(readdirSync(join(root, 'bin')).sort(), [
    'kube-apiserver',
    'kubeadm',
    'kubectl',
    'kubelet',
  ]);
  assert.deepEqual(readdirSync(join(root, 'cri')).sort(), ['containerd', 'containerd-shim-runc-v2', 'runc']);
  const same = (a: string, b: string) => readFileSync(a).equals(readFileSync(b));
  assert.ok(same(join(root, 'cri', 'containerd'), '/usr/bin/containerd'), 'cri/containerd is the real one');
  const version = spawnSync(join(root, 'bin', 'kube-apiserver'), ['--version'], { encoding: 'utf8' });
  assert.equal(version.stdout, 'Kubernetes v1.29.3\n');
  for (const f of ['etc/kubeadm.yml', 'etc/kubelet.service', 'etc/10-kubeadm.conf', 'etc/containerd.service'])
    assert.ok(existsSync(join(root, f)), f);
  assert.match(readFileSync(join(root, 'etc', 'kubeadm.yml'), 'utf8'), /kubernetesVersion: v1\.29\.3/);
  for (const s of ['check.sh', 'init.sh', 'clean.sh']) assert.ok(existsSync(join(root, 'scripts', s)), s);
  const repos = join(root, 'registry', 'docker', 'registry', 'v2', 'repositories');
  assert.deepEqual(readdirSync(repos).sort(), [
    'coredns',
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-proxy',
    'kube-scheduler',
    'pause',
  ]);
});

// The hook scripts of the example kubeadm image on a systemd sandbox host, run as berth runs them (from
// <rootfs>/scripts with the image env exported): check passes, init installs containerd from cri/ and
// kubeadm, kubelet, kubectl, kube-apiserver from bin/, and starts containerd and the kubelet through
// systemd; clean then leaves the host exactly as it was before (files, units, mounts, processes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildExampleImage, KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { assertHostAsBefore, type ClusterSetup, mustSsh, snapshotHost } from '../helpers/cluster-e2e.js';
import { testInit, withSandbox } from '../helpers/sandbox.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const rootfs = '/var/lib/berth-hook-test/rootfs';
const env =
  'export registryDomain=sealos.hub registryPort=5000 registryUsername=admin registryPassword=hook-test ' +
  'sandboxImage=pause:3.9 criData=/var/lib/containerd registryData=/var/lib/registry; ';

test('example kubeadm image hooks: check, init starts containerd and the kubelet, clean undoes it', {
  skip: testInit === 'sshd' && 'hosts run sshd as PID 1; the image needs systemd',
}, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-kubeadm-hooks-'));
  const saved = process.env.BERTH_HOME;
  process.env.BERTH_HOME = home;
  const removeHome = () => {
    if (saved === undefined) delete process.env.BERTH_HOME;
    else process.env.BERTH_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  };
  let root: string;
  let sb: Sandbox;
  try {
    const tag = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
    await buildExampleImage({ tag, workDir: join(home, 'build'), distribution: 'kubeadm' });
    const created = spawnSync(process.execPath, [bin, 'create', tag, '--name', 'hooks'], {
      encoding: 'utf8',
    });
    assert.equal(created.status, 0, created.stderr);
    root = created.stdout.trim();
    sb = await withSandbox(t, { name: 'kubeadm-hooks', hosts: 1, init: 'systemd' });
  } catch (err) {
    removeHome();
    throw err;
  }
  // after the sandbox is down: BERTH_HOME holds its record
  t.after(removeHome);
  const knownHosts = join(home, 'known_hosts');
  writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
  const setup: ClusterSetup = {
    home,
    sb,
    knownHosts,
    onCleanup: (fn) => t.after(fn),
    resetOnCleanup: () => undefined,
  };
  const host = sb.hosts[0]!;
  const before = snapshotHost(setup, host);

  const copy = spawnSync(
    'sh',
    [
      '-c',
      `tar -C "$1" -cf - . | ssh -i "$2" -o UserKnownHostsFile="$3" -o BatchMode=yes -o LogLevel=ERROR root@"$4" "mkdir -p ${rootfs} && tar -xf - -C ${rootfs}"`,
      'copy',
      root,
      sb.keyPath,
      knownHosts,
      host.ip,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(copy.status, 0, copy.stderr);
  mustSsh(setup, host, `cd ${rootfs}/scripts && ${env}bash check.sh $registryData && bash init.sh`);
  const state = mustSsh(
    setup,
    host,
    [
      'systemctl is-enabled containerd kubelet',
      'systemctl is-active containerd',
      'systemctl show -p DropInPaths --value kubelet',
      'ctr --address /run/containerd/containerd.sock plugins ls | grep -c "io.containerd.grpc.v1 *cri *.*ok"',
      'grep -c "sandbox_image = \\"sealos.hub:5000/pause:3.9\\"" /etc/containerd/config.toml',
      'cmp /usr/bin/kube-apiserver ' + `${rootfs}/bin/kube-apiserver && echo same`,
    ].join(' && '),
  );
  assert.deepEqual(state.trim().split('\n'), [
    'enabled',
    'enabled',
    'active',
    '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
    '1',
    '1',
    'same',
  ]);
  mustSsh(setup, host, `cd ${rootfs}/scripts && ${env}bash clean.sh && rm -rf /var/lib/berth-hook-test`);
  await assertHostAsBefore(setup, host, before);
});

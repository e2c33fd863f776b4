// The k0s stand-in on three sandbox hosts, installed as a k0s image installs it (one `k0s` file, the
// service from `k0s install`): a controller runs the real etcd and the API, a worker joins with a worker
// token and turns Ready once its containerd (with a containerd.d drop-in merged into k0s's CRI config)
// has the sandbox image; a controller token is refused by a worker, expired tokens by the API and the k0s API;
// a second controller joins with a controller token and etcd has two members, one again after
// `k0s etcd leave`; reset is refused while k0s runs and then leaves no k0s files behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type HostSnapshot, mustSsh, snapshotDiff, snapshotHost, ssh } from '../helpers/cluster-e2e.js';
import { writeOciImage } from '../helpers/oci-fixture.js';
import { withSandbox } from '../helpers/sandbox.js';
import { writeK0sStandIn } from '../stand-ins/k0s/install.js';

const skip = process.getuid?.() !== 0 && 'needs root (sandbox hosts)';

const fileScript = (path: string, content: string | Buffer, mode = '0644') =>
  `mkdir -p $(dirname ${path}) && base64 -d > ${path} <<'B64'\n${Buffer.from(content).toString('base64')}\nB64\nchmod ${mode} ${path}\n`;

// Debian's etcd-server made an etcd user on the machine, which k0s's reset would delete with its own
const k0sConfig = (sans: string[]) => `apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  api:
    sans:
${sans.map((s) => `    - ${s}`).join('\n')}
  network:
    nodeLocalLoadBalancing:
      enabled: true
      type: EnvoyProxy
  installConfig:
    users:
      etcdUser: k0s-etcd
`;

// overlayfs snapshots cannot live on a sandbox host's overlay root; the drop-in is merged into k0s's CRI config
const snapshotterDropIn = '[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('k0s stand-in: controller, worker join by token, wrong-role and expired tokens refused, controller join and etcd leave, reset', {
  skip,
}, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-k0s-si-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  await writeK0sStandIn(join(work, 'bin'), 'v1.29.4+k0s.0');
  const layout = join(work, 'pause');
  await writeOciImage(layout, '3.9', [
    {
      platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch },
      files: { pause: readFileSync('/bin/true') },
    },
  ]);
  const pauseTar = join(work, 'pause.tar');
  assert.equal(spawnSync('tar', ['-C', layout, '-cf', pauseTar, '.']).status, 0);

  const sb = await withSandbox(t, { name: 't-k0s-si', hosts: 3 });
  const knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
  const access = { sb, knownHosts };
  const [c1, w1, c2] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  const logs = (h: typeof c1) =>
    ssh(
      access,
      h,
      'for s in k0scontroller k0sworker; do journalctl -u $s --no-pager -o cat 2>/dev/null | tail -n 40; tail -n 40 /var/log/berth/$s.log 2>/dev/null; done',
    ).out;
  const waitFor = async (h: typeof c1, what: string, script: string, tries = 90) => {
    let last = { status: null as number | null, out: '', err: '' };
    for (let i = 0; i < tries; i++) {
      last = ssh(access, h, script);
      if (last.status === 0) return last.out;
      await sleep(1_000);
    }
    assert.fail(`${h.ip}: ${what}: ${last.out}${last.err}\n${logs(h)}`);
  };

  const k0sFile = readFileSync(join(work, 'bin', 'k0s'));
  for (const h of [c1, w1, c2]) {
    mustSsh(
      access,
      h,
      [
        fileScript('/usr/local/bin/k0s', k0sFile, '0755'),
        fileScript('/etc/k0s/containerd.d/snapshotter.toml', snapshotterDropIn),
        fileScript('/root/pause.tar', readFileSync(pauseTar)),
        fileScript('/etc/k0s/k0s.yaml', k0sConfig(['k0s.example.test', h.ip])),
      ].join('\n'),
    );
  }
  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(access, h)]));

  // the first controller: the unit k0s install writes, etcd and the API up, the admin kubeconfig
  mustSsh(access, c1, 'k0s install controller -c /etc/k0s/k0s.yaml && k0s start');
  const again = ssh(access, c1, 'k0s start');
  assert.notEqual(again.status, 0);
  assert.match(again.err, /^Error: already running$/m);
  await waitFor(c1, 'controller status', 'k0s status | grep -q "Role: controller"');
  const kubeconfig = mustSsh(access, c1, 'k0s kubeconfig admin');
  assert.match(kubeconfig, new RegExp(`server: https://${c1.ip.replace(/\./g, '\\.')}:6443`));
  const san = mustSsh(access, c1, 'openssl x509 -noout -ext subjectAltName -in /var/lib/k0s/pki/server.crt');
  assert.match(san, /DNS:k0s\.example\.test/);
  assert.match(mustSsh(access, c1, 'readlink /proc/$(pgrep -x etcd)/exe'), /\/usr\/bin\/etcd/);

  // tokens of the wrong role or expired are refused; a worker token joins the worker
  const workerToken = mustSsh(access, c1, 'k0s token create --role=worker --expiry=1h').trim();
  const controllerToken = mustSsh(access, c1, 'k0s token create --role=controller --expiry=1h').trim();
  const expired = mustSsh(access, c1, 'k0s token create --role=worker --expiry=1s').trim();
  const expiredCtrl = mustSsh(access, c1, 'k0s token create --role=controller --expiry=1s').trim();
  assert.match(mustSsh(access, c1, 'k0s token list'), /^ID\s+ROLE\s+EXPIRES AT$/m);
  const wrongRole = ssh(access, c2, `k0s worker ${controllerToken}`);
  assert.equal(wrongRole.status, 1);
  assert.match(
    wrongRole.err,
    /^Error: wrong token type controller-bootstrap, expected type: kubelet-bootstrap$/m,
  );
  await sleep(1_500);
  const late = ssh(access, c2, `timeout 60 k0s worker ${expired} 2>&1`);
  assert.equal(late.status, 1, late.out);
  assert.match(late.out, /failed to load configuration for worker profile "default": Unauthorized/);
  const lateCtrl = ssh(access, c2, `timeout 60 k0s controller ${expiredCtrl} 2>&1`);
  assert.equal(lateCtrl.status, 1, lateCtrl.out);
  assert.match(lateCtrl.out, /refused the token: 401 Unauthorized/);
  mustSsh(access, c2, 'k0s reset >/dev/null 2>&1');

  mustSsh(
    access,
    w1,
    `${fileScript('/root/token', workerToken, '0600')}k0s install worker --token-file /root/token && k0s start`,
  );
  await waitFor(
    w1,
    'worker containerd',
    'test -S /run/k0s/containerd.sock && k0s ctr version >/dev/null 2>&1',
  );
  mustSsh(
    access,
    w1,
    'k0s ctr -n k8s.io images import --snapshotter native --base-name registry.k8s.io/pause /root/pause.tar >/dev/null',
  );
  const nodeName = mustSsh(access, w1, 'hostname').trim().toLowerCase();
  await waitFor(
    c1,
    'worker Ready',
    `k0s kubectl get node ${nodeName} -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True`,
    120,
  );
  // the kubelet goes through the node-local balancer, which forwards to the controllers
  assert.match(mustSsh(access, w1, 'grep server: /var/lib/k0s/kubelet.conf'), /https:\/\/localhost:7443/);
  assert.match(mustSsh(access, w1, 'cat /run/k0s/containerd-cri.toml'), /snapshotter = "native"/);

  // a second controller joins etcd through the first one's k0s API
  mustSsh(
    access,
    c2,
    `${fileScript('/root/token', controllerToken, '0600')}k0s install controller --token-file /root/token && k0s start`,
  );
  await waitFor(c2, 'second controller status', 'k0s status | grep -q "Role: controller"', 120);
  const members = JSON.parse(mustSsh(access, c1, 'k0s etcd member-list')) as {
    members: Record<string, string>;
  };
  assert.deepEqual(
    Object.values(members.members).sort(),
    [`https://${c1.ip}:2380`, `https://${c2.ip}:2380`].sort(),
  );
  // etcd refuses to remove a member connected for less than 5 s ("unhealthy cluster"), as under real k0s
  await waitFor(c1, 'etcd leave', `k0s etcd leave --peer-address ${c2.ip}`, 30);
  mustSsh(access, c2, 'k0s stop');
  const after = JSON.parse(mustSsh(access, c1, 'k0s etcd member-list')) as {
    members: Record<string, string>;
  };
  assert.deepEqual(Object.values(after.members), [`https://${c1.ip}:2380`]);

  // reset: refused while running, then nothing k0s made is left
  const refused = ssh(access, w1, 'k0s reset');
  assert.equal(refused.status, 1);
  assert.match(refused.err, /^Error: k0s seems to be running! please stop k0s before reset\.$/m);
  for (const h of [w1, c2, c1]) {
    mustSsh(access, h, 'k0s stop; k0s reset 2>&1');
    // k0s reset keeps /etc/k0s and containerd's /opt/containerd; useradd/userdel back up the account
    // files; /root is the test's own (its token, kubectl's cache) over the machine's, which other tests change
    const kept =
      /^(files|digests): [-+] \/(etc\/(k0s\/containerd\.toml|(passwd|group|shadow|gshadow)-)|opt\/containerd|root)[ /]/;
    let diff: string[] = [];
    for (let i = 0; i < 5; i++) {
      diff = snapshotDiff(before.get(h.ip)!, snapshotHost(access, h)).filter((l) => !kept.test(l));
      if (!diff.length) break;
      await sleep(1_000);
    }
    assert.deepEqual(diff, [], `${h.ip} differs after reset`);
  }
});

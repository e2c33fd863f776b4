// The kubeadm and kubelet stand-ins on three systemd sandbox hosts, as a kubeadm image installs them
// (kubelet.service with kubeadm's drop-in, the machine's containerd): `kubeadm init --config` brings up the
// real etcd and the kube-apiserver stand-in as static pods, a worker joins with a bootstrap token and the CA
// hash and turns Ready (a join pinning another CA's hash, or with a token that has no Secret, is refused in
// kubeadm's words), and a second control plane joins with the certificate key, its etcd member added.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mustSsh, ssh } from '../helpers/cluster-e2e.js';
import { writeOciImage } from '../helpers/oci-fixture.js';
import { testInit, withSandbox } from '../helpers/sandbox.js';
import { writeKubeApiserverStandIn } from '../stand-ins/kube-apiserver/install.js';
import { kubeadmDropIn, kubeletUnit, writeKubeadmStandIns } from '../stand-ins/kubeadm/install.js';

const version = 'v1.29.3';
const token = 'abcdef.0123456789abcdef';
const etcdctl =
  'ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key';
const skip =
  process.getuid?.() !== 0 ? 'needs root (sandbox hosts)' : testInit === 'sshd' && 'hosts run sshd as PID 1';

/** A here-document writing `content` to `path` on a host, byte for byte. */
const fileScript = (path: string, content: string | Buffer, mode = '0644') =>
  `base64 -d > ${path} <<'B64'\n${Buffer.from(content).toString('base64')}\nB64\nchmod ${mode} ${path}\n`;

const initConfig = (ip: string) => `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: ${token}
  ttl: 1h0m0s
localAPIEndpoint:
  advertiseAddress: ${ip}
  bindPort: 6443
nodeRegistration:
  name: master0
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: ${version}
controlPlaneEndpoint: ${ip}:6443
networking:
  podSubnet: 100.64.0.0/16
  serviceSubnet: 10.96.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`;

const controlPlaneJoinConfig = (
  endpoint: string,
  hash: string,
  ip: string,
  certificateKey: string,
) => `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    token: ${token}
    apiServerEndpoint: ${endpoint}
    caCertHashes:
    - ${hash}
  timeout: 1m0s
controlPlane:
  certificateKey: ${certificateKey}
  localAPIEndpoint:
    advertiseAddress: ${ip}
    bindPort: 6443
nodeRegistration:
  name: master1
  criSocket: unix:///run/containerd/containerd.sock
`;

const joinConfig = (
  endpoint: string,
  hash: string,
  with_ = { token, timeout: '1m0s' },
) => `apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    token: ${with_.token}
    apiServerEndpoint: ${endpoint}
    caCertHashes:
    - ${hash}
  timeout: ${with_.timeout}
nodeRegistration:
  name: node0
  criSocket: unix:///run/containerd/containerd.sock
`;

test('kubeadm stand-in: init runs real etcd and the API; a worker joins with a token and turns Ready; a control plane joins etcd', {
  skip,
}, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-kadm-si-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const bin = join(work, 'bin');
  await writeKubeadmStandIns(bin, version);
  await writeKubeApiserverStandIn(bin, version);
  const layout = join(work, 'pause');
  await writeOciImage(layout, '3.9', [
    {
      platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch },
      files: { pause: readFileSync('/bin/true') },
    },
  ]);
  const sb = await withSandbox(t, { name: 't-kadm-si', hosts: 3, init: 'systemd' });
  const knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
  const access = { sb, knownHosts };
  const [master, worker, second] = sb.hosts as [
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
  ];
  /** The kubelet's journal on a host, for failure messages. */
  const journal = (h: typeof master) =>
    ssh(access, h, 'journalctl -u kubelet --no-pager -o cat | tail -n 60').out;

  const pauseTar = join(work, 'pause.tar');
  assert.equal(spawnSync('tar', ['-C', layout, '-cf', pauseTar, '.']).status, 0);
  const install = [
    ...['kubeadm', 'kubelet', 'kube-apiserver'].map((b) =>
      fileScript(`/usr/bin/${b}`, readFileSync(join(bin, b)), '0755'),
    ),
    fileScript('/etc/systemd/system/kubelet.service', kubeletUnit('/usr/bin/kubelet')),
    'mkdir -p /etc/systemd/system/kubelet.service.d /etc/containerd',
    fileScript('/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', kubeadmDropIn('/usr/bin/kubelet')),
    fileScript(
      '/etc/containerd/config.toml',
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n',
    ),
    fileScript('/root/pause.tar', readFileSync(pauseTar)),
    'systemctl daemon-reload && systemctl enable kubelet && systemctl start containerd',
    'for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done',
    'ctr -n k8s.io images import --snapshotter native --base-name registry.k8s.io/pause /root/pause.tar >/dev/null',
  ].join('\n');
  for (const h of [master, worker, second]) mustSsh(access, h, install);

  // init, then the real etcd and the API answer
  mustSsh(access, master, fileScript('/root/kubeadm.yaml', initConfig(master.ip)));
  const init = ssh(access, master, 'kubeadm init --config /root/kubeadm.yaml --upload-certs 2>&1');
  assert.equal(init.status, 0, `${init.out}${init.err}\nkubelet:\n${journal(master)}`);
  assert.match(init.out, /Your Kubernetes control-plane has initialized successfully!/);
  const health = mustSsh(
    access,
    master,
    `${etcdctl} endpoint health 2>&1; readlink /proc/$(pgrep -x etcd)/exe`,
  );
  assert.match(health, /is healthy/);
  assert.match(health, /\/usr\/bin\/etcd/);
  const hash = /--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(init.out)?.[1];
  assert.ok(hash, init.out);
  const files = mustSsh(
    access,
    master,
    'ls /etc/kubernetes /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/kubelet; kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /healthz',
  );
  for (const f of [
    'admin.conf',
    'super-admin.conf',
    'kubelet.conf',
    'etcd.yaml',
    'kube-apiserver.yaml',
    'apiserver.crt',
    'sa.pub',
    'config.yaml',
    'kubeadm-flags.env',
  ])
    assert.ok(files.split(/\s+/).includes(f), `${f} missing:\n${files}`);
  assert.match(files, /ok$/);
  // kubectl's create generators send protobuf, which the stand-in API refuses, so the binding goes through
  // apply. (It is also in the stand-in's bootstrap policy.)
  mustSsh(
    access,
    master,
    `kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: t-kcm
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:kube-controller-manager
YAML`,
  );

  // a wrong CA hash is refused once the token checks out
  const wrong = `sha256:${'0'.repeat(64)}`;
  mustSsh(access, worker, fileScript('/root/join-wrong.yaml', joinConfig(`${master.ip}:6443`, wrong)));
  const refused = ssh(access, worker, 'kubeadm join --config /root/join-wrong.yaml 2>&1');
  assert.notEqual(refused.status, 0, refused.out);
  assert.match(
    refused.out,
    new RegExp(
      `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${hash}" are pinned`,
    ),
  );
  assert.match(refused.out, /To see the stack trace of this error execute with --v=5 or higher/);

  // a token with no Secret is never signed into cluster-info: discovery gives up at its timeout
  const unknownToken = { token: 'zzzzzz.0123456789abcdef', timeout: '6s' };
  mustSsh(
    access,
    worker,
    fileScript('/root/join-token.yaml', joinConfig(`${master.ip}:6443`, hash, unknownToken)),
  );
  const noToken = ssh(access, worker, 'kubeadm join --config /root/join-token.yaml 2>&1');
  assert.notEqual(noToken.status, 0, noToken.out);
  assert.match(noToken.out, /token id "zzzzzz" is invalid for this cluster or it has expired/);

  mustSsh(access, worker, fileScript('/root/join.yaml', joinConfig(`${master.ip}:6443`, hash)));
  const joined = ssh(access, worker, 'kubeadm join --config /root/join.yaml 2>&1');
  assert.equal(
    joined.status,
    0,
    `${joined.out}${joined.err}\nkubelet:\n${journal(worker)}\nmaster kubelet:\n${journal(master)}`,
  );
  assert.match(joined.out, /This node has joined the cluster/);

  let nodes = '';
  for (let i = 0; i < 60; i++) {
    nodes = mustSsh(
      access,
      master,
      'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o jsonpath=\'{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}\'',
    );
    if (/^node0=True$/m.test(nodes) && /^master0=True$/m.test(nodes)) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  assert.match(nodes, /^master0=True$/m, journal(master));
  assert.match(nodes, /^node0=True$/m, journal(worker));

  // a second control plane: the certificates downloaded with the certificate key, its etcd added as a
  // member before it starts; etcd then has two started members
  const certificateKey = /--certificate-key ([0-9a-f]{64})/.exec(init.out)?.[1];
  assert.ok(certificateKey, init.out);
  mustSsh(
    access,
    second,
    fileScript(
      '/root/join-cp.yaml',
      controlPlaneJoinConfig(`${master.ip}:6443`, hash, second.ip, certificateKey),
    ),
  );
  const cp = ssh(access, second, 'kubeadm join --config /root/join-cp.yaml 2>&1');
  assert.equal(
    cp.status,
    0,
    `${cp.out}${cp.err}\nkubelet:\n${journal(second)}\nmaster kubelet:\n${journal(master)}`,
  );
  assert.match(cp.out, /This node has joined the cluster and a new control plane instance was created/);
  const members = mustSsh(access, second, `${etcdctl} member list`);
  assert.match(members, new RegExp(`started, master0, https://${master.ip}:2380`));
  assert.match(members, new RegExp(`started, master1, https://${second.ip}:2380`));
  assert.equal(
    mustSsh(access, second, 'cat /etc/kubernetes/pki/ca.crt'),
    mustSsh(access, master, 'cat /etc/kubernetes/pki/ca.crt'),
  );

  // tokens through the API, and the join command kubeadm prints for them
  const printed = mustSsh(
    access,
    master,
    'kubeadm token create --ttl 10m --print-join-command && kubeadm token list',
  );
  assert.match(
    printed,
    new RegExp(
      `^kubeadm join ${master.ip}:6443 --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash ${hash}`,
      'm',
    ),
  );
  assert.match(printed, /^TOKEN\s+TTL\s+EXPIRES\s+USAGES/m);
  assert.match(printed, new RegExp(`^${token.replace('.', '\\.')}\\s+\\d+m\\s`, 'm'));
  assert.match(
    mustSsh(access, master, 'kubeadm certs check-expiration'),
    /^apiserver\s+\w{3} \d+, \d{4} \d\d:\d\d UTC\s+364d\s+ca\s+no$/m,
  );

  // reset on a control plane removes its etcd member first
  const cpReset = mustSsh(access, second, 'kubeadm reset -f 2>&1');
  const left = mustSsh(access, master, `${etcdctl} member list`);
  assert.match(left, /started, master0,/);
  assert.doesNotMatch(left, /master1/, cpReset);
  assert.match(cpReset, /\[reset\] Removed etcd member master1/);

  // reset empties kubeadm's directories and deletes its kubeconfigs, and keeps the directories
  const reset = mustSsh(
    access,
    worker,
    'kubeadm reset -f >/dev/null && ls -A /etc/kubernetes /etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki; systemctl is-active kubelet || true',
  );
  assert.match(reset, /^\/etc\/kubernetes:\n(manifests\n)?pki\n/m);
  assert.doesNotMatch(reset, /kubelet\.conf|ca\.crt|config\.yaml/);
  assert.match(reset, /inactive/);
});

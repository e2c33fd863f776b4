// A kubeadm cluster of three masters and a worker from the example kubeadm image, through the real CLI, one
// cluster for every case so that the suite stays short: a Clusterfile kubeadm document with an unknown field
// is refused before any host changes; etcd has three healthy members; the certificates berth made pass
// openssl's checks and `berth cert check` lists them; `berth cert --alt-names` and `berth cert renew` change
// them on the running cluster one master at a time; with a master's link down the worker still reaches the
// API through its balancer and etcd keeps quorum; `berth delete --masters` of that master leaves two etcd
// members and balancers naming only the masters that stay.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { KUBEADM_EXAMPLE_VERSION } from '../../examples/example-image.js';
import { setHostLink } from '../../src/sandbox/index.js';
import {
  assertReadyNodes,
  berth,
  berthOk,
  kubectlNodes,
  mustSsh,
  setupCluster,
  ssh,
} from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';

const tag = `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`;
const cluster = 't-kadm-ha';
const vip = '10.103.97.2';
const serviceIp = '10.96.0.1';
const userSans = ['ha.example.test', '192.0.2.10'];
const addedSans = ['added.example.test', '192.0.2.20'];
const pki = '/etc/kubernetes/pki';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const skip =
  process.getuid?.() !== 0
    ? 'needs root (sandbox hosts)'
    : testInit === 'sshd' && "the example kubeadm image's check hook needs systemd";

const etcdctl = (endpoints: string[]) =>
  `ETCDCTL_API=3 etcdctl --endpoints ${endpoints.map((ip) => `https://${ip}:2379`).join(',')} --cacert ${pki}/etcd/ca.crt --cert ${pki}/etcd/healthcheck-client.crt --key ${pki}/etcd/healthcheck-client.key --command-timeout=5s`;

function openssl(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000, input: input ?? '' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The SAN list of the certificate the API server on `ip` serves for `serverName`. */
function servedSans(ip: string, serverName: string): string {
  const s = openssl(['s_client', '-connect', `${ip}:6443`, '-servername', serverName, '-showcerts']);
  const pem = s.out.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
  assert.ok(pem, `no certificate from ${ip}:6443: ${s.out}`);
  return openssl(['x509', '-noout', '-ext', 'subjectAltName'], pem).out;
}

interface Listed {
  host: string;
  path: string;
  subject: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
}

async function certCheck(): Promise<Listed[]> {
  const r = await berthOk(['cert', 'check', '--cluster', cluster, '--json']);
  return (JSON.parse(r.stdout) as { certificates: Listed[] }).certificates;
}

test('kubeadm HA: 3 masters + 1 worker, certificates, a master down, a master deleted', {
  skip,
}, async (t) => {
  const setup = await setupCluster(t, {
    sandbox: cluster,
    hosts: 4,
    init: 'systemd',
    image: { tag, distribution: 'kubeadm' },
  });
  const { sb, home } = setup;
  const [m0, m1, m2, node] = sb.hosts as [
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
  ];
  const masters = [m0, m1, m2];
  const kubeconfig = join(home, cluster, 'kubeconfig');
  setup.resetOnCleanup(cluster);

  const clusterfile = (extra: string) => `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  name: ${cluster}
spec:
  image:
    - ${tag}
  ssh:
    user: root
    pk: ${sb.keyPath}
  hosts:
    - ips: [${masters.map((m) => m.ip).join(', ')}]
      roles: [master]
    - ips: [${node.ip}]
      roles: [node]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
${extra}`;

  await t.test(
    'a kubeadm document with an unknown field: exit 3, one line naming it, no host changed',
    async () => {
      const bad = join(home, 'bad-kubeadm.yaml');
      writeFileSync(bad, clusterfile('  certSANz:\n    - ha.example.test\n'));
      const r = await berth(['apply', '-f', bad]);
      assert.equal(r.code, 3, r.stderr);
      const failure = r.stderr.split('\n').filter((l) => l.startsWith('berth: '));
      assert.equal(failure.length, 1, `one failure line:\n${r.stderr}`);
      assert.match(
        failure[0] as string,
        /bad-kubeadm\.yaml:20: ClusterConfiguration field apiServer\.certSANz is not in kubeadm\.k8s\.io\/v1beta3; did you mean certSANs\?$/,
      );
      for (const h of sb.hosts) {
        const left = mustSsh(
          setup,
          h,
          'ls -d /var/lib/berth /etc/berth /etc/kubernetes /var/lib/etcd/member 2>/dev/null || :',
        );
        assert.equal(left, '', `${h.ip} has ${left}`);
      }
      assert.equal(spawnSync('test', ['-e', join(home, cluster)]).status, 1, 'no cluster state');
    },
  );

  const good = join(home, 'Clusterfile');
  writeFileSync(good, clusterfile(`  certSANs:\n${userSans.map((s) => `    - ${s}\n`).join('')}`));
  const run = await berthOk(['apply', '-f', good], 600_000);
  console.log(`apply (3 masters + 1 worker) took ${(run.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(
    kubeconfig,
    [...masters, node].map((h) => h.ip),
  );

  await t.test('etcd has three healthy members', () => {
    const ips = masters.map((m) => m.ip);
    const members = JSON.parse(mustSsh(setup, m1, `${etcdctl(ips)} member list -w json`)) as {
      members: Array<{ peerURLs: string[] }>;
    };
    assert.deepEqual(
      members.members.map((m) => m.peerURLs[0]).sort(),
      ips.map((ip) => `https://${ip}:2380`).sort(),
    );
    const health = mustSsh(setup, m1, `${etcdctl(ips)} endpoint health 2>&1`);
    assert.equal((health.match(/is healthy/g) ?? []).length, 3, health);
  });

  await t.test('openssl: chains, names, validity and usages as kubeadm makes them', () => {
    const dir = join(home, 'pki');
    const files = [
      'ca.crt',
      'apiserver.crt',
      'apiserver-kubelet-client.crt',
      'front-proxy-ca.crt',
      'front-proxy-client.crt',
      'apiserver-etcd-client.crt',
      'etcd/ca.crt',
      'etcd/server.crt',
      'etcd/peer.crt',
      'etcd/healthcheck-client.crt',
    ];
    for (const f of files) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), mustSsh(setup, m1, `cat ${pki}/${f}`));
    }
    const p = (f: string) => join(dir, f);
    const chains: Array<[string, string[]]> = [
      ['ca.crt', ['apiserver.crt', 'apiserver-kubelet-client.crt']],
      ['front-proxy-ca.crt', ['front-proxy-client.crt']],
      [
        'etcd/ca.crt',
        ['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt'],
      ],
    ];
    for (const [ca, leaves] of chains) {
      const v = openssl(['verify', '-CAfile', p(ca), ...leaves.map(p)]);
      assert.equal(v.status, 0, v.out);
      // a leaf of another CA does not verify: the chains are really distinct
      assert.notEqual(
        openssl(['verify', '-CAfile', p(ca), p(ca === 'ca.crt' ? 'etcd/server.crt' : 'apiserver.crt')])
          .status,
        0,
      );
    }
    const ext = (f: string) =>
      openssl([
        'x509',
        '-noout',
        '-in',
        p(f),
        '-ext',
        'subjectAltName,keyUsage,extendedKeyUsage,basicConstraints',
      ]).out;
    const apiserver = ext('apiserver.crt');
    for (const name of [
      'localhost',
      'apiserver.cluster.local',
      'kubernetes.default.svc.cluster.local',
      ...masters.map((m) => m.name),
      userSans[0],
    ])
      assert.match(
        apiserver,
        new RegExp(`DNS:${name.replace(/\./g, '\\.')}(,|\\n)`),
        `apiserver.crt names ${name}`,
      );
    for (const ip of ['127.0.0.1', vip, serviceIp, ...masters.map((m) => m.ip), userSans[1]])
      assert.match(
        apiserver,
        new RegExp(`IP Address:${ip.replace(/\./g, '\\.')}(,|\\n)`),
        `apiserver.crt names ${ip}`,
      );
    assert.match(apiserver, /Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(apiserver, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(apiserver, /CA:FALSE/);
    for (const f of [
      'apiserver-kubelet-client.crt',
      'front-proxy-client.crt',
      'apiserver-etcd-client.crt',
      'etcd/healthcheck-client.crt',
    ])
      assert.match(ext(f), /Extended Key Usage: \n\s+TLS Web Client Authentication\n/, f);
    for (const f of ['etcd/server.crt', 'etcd/peer.crt']) {
      const e = ext(f);
      assert.match(e, /TLS Web Server Authentication, TLS Web Client Authentication/, f);
      assert.match(
        e,
        new RegExp(
          `DNS:${m1.name}, DNS:localhost, IP Address:${m1.ip.replace(/\./g, '\\.')}, IP Address:127\\.0\\.0\\.1`,
        ),
        f,
      );
    }
    for (const ca of ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt']) {
      const e = ext(ca);
      assert.match(e, /Basic Constraints: critical\n\s+CA:TRUE/, ca);
      assert.match(e, /Key Usage: critical\n\s+Digital Signature, Key Encipherment, Certificate Sign\n/, ca);
    }
    const day = 86_400;
    const validFor = (f: string, days: number) =>
      openssl(['x509', '-noout', '-in', p(f), '-checkend', String(days * day)]).status === 0;
    for (const f of ['apiserver.crt', 'etcd/peer.crt']) {
      assert.ok(validFor(f, 364), `${f} is valid for a year`);
      assert.ok(!validFor(f, 366), `${f} expires after a year`);
    }
    assert.ok(validFor('ca.crt', 3649) && !validFor('ca.crt', 3651), 'the CA is valid for ten years');
    // what the API server serves chains to the CA as well
    const s = openssl([
      's_client',
      '-connect',
      `${m2.ip}:6443`,
      '-CAfile',
      p('ca.crt'),
      '-verify_return_error',
      '-servername',
      'apiserver.cluster.local',
    ]);
    assert.match(s.out, /Verify return code: 0 \(ok\)/);
  });

  let listed: Listed[] = [];
  await t.test('cert check: every certificate of every master, as a table and as JSON', async () => {
    listed = await certCheck();
    for (const m of masters) {
      const mine = listed.filter((c) => c.host === m.ip);
      const paths = mine.map((c) => c.path);
      for (const f of [
        'ca.crt',
        'apiserver.crt',
        'front-proxy-client.crt',
        'etcd/server.crt',
        'etcd/peer.crt',
      ])
        assert.ok(paths.includes(`${pki}/${f}`), `${m.ip} lists ${f}`);
      for (const f of ['admin.conf', 'controller-manager.conf', 'scheduler.conf'])
        assert.ok(paths.includes(`/etc/kubernetes/${f}`), `${m.ip} lists ${f}`);
      const api = mine.find((c) => c.path === `${pki}/apiserver.crt`) as Listed;
      assert.equal(api.daysLeft, 364);
      assert.ok(api.dnsNames.includes('apiserver.cluster.local') && api.ipAddresses.includes(vip));
      assert.equal(mine.find((c) => c.path === `${pki}/ca.crt`)?.daysLeft, 3649);
    }
    const table = await berthOk(['cert', 'check', '--cluster', cluster]);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0] as string, /^HOST\s+PATH\s+SUBJECT\s+NOT AFTER\s+DAYS LEFT\s+SANS$/);
    assert.equal(rows.length, listed.length + 1);
    const apiRow = rows.find(
      (r) => r.startsWith(`${m1.ip} `) && r.includes(`${pki}/apiserver.crt `),
    ) as string;
    assert.match(
      apiRow,
      /CN=kube-apiserver\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+364\s+\S*apiserver\.cluster\.local\S*192\.0\.2\.10/,
    );
  });

  await t.test(
    'cert --alt-names: every API server serves the added names, one master at a time',
    async () => {
      const state = readFileSync(join(home, cluster, 'driver-state'), 'utf8');
      const dry = await berthOk(
        ['cert', '--alt-names', addedSans.join(','), '--cluster', cluster, '--dry-run'],
        120_000,
      );
      const planned = [...dry.stdout.matchAll(/^\s+(\S+) apiserver-alt-names:/gm)].map((m) => m[1]);
      assert.deepEqual(
        planned,
        masters.map((m) => m.ip),
        `the dry run plans every master:\n${dry.stdout}`,
      );
      assert.equal(readFileSync(join(home, cluster, 'driver-state'), 'utf8'), state, 'state unchanged');
      assert.ok(!servedSans(m1.ip, addedSans[0] as string).includes(`DNS:${addedSans[0]}`), 'nothing served');
      const r = await berthOk(['cert', '--alt-names', addedSans.join(','), '--cluster', cluster], 300_000);
      console.log(`cert --alt-names took ${(r.ms / 1000).toFixed(1)} s`);
      const order = [...r.stderr.matchAll(/^\s+(\S+) apiserver-alt-names:/gm)].map((m) => m[1]);
      assert.deepEqual(
        order,
        masters.map((m) => m.ip),
        'masters one after another, in order',
      );
      for (const m of masters) {
        const sans = servedSans(m.ip, addedSans[0] as string);
        for (const n of [
          `DNS:${addedSans[0]}`,
          `IP Address:${addedSans[1]}`,
          `DNS:${userSans[0]}`,
          `IP Address:${m.ip}`,
        ])
          assert.ok(sans.includes(n), `${m.ip} serves ${n}: ${sans}`);
      }
      assertReadyNodes(
        kubeconfig,
        [...masters, node].map((h) => h.ip),
        `https://${m2.ip}:6443`,
      );
    },
  );

  await t.test(
    'cert renew: new leaves and kubeconfigs on every master, CAs kept, cert check shows the new dates',
    async () => {
      const r = await berthOk(['cert', 'renew', '--cluster', cluster], 600_000);
      console.log(`cert renew took ${(r.ms / 1000).toFixed(1)} s`);
      const after = await certCheck();
      const key = (c: Listed) => `${c.host} ${c.path}`;
      const was = new Map(listed.map((c) => [key(c), c]));
      let renewed = 0;
      for (const c of after) {
        const old = was.get(key(c));
        if (!old || c.path.endsWith('/kubelet.conf')) continue;
        if (/\/(ca|front-proxy-ca)\.crt$/.test(c.path)) {
          assert.equal(c.notAfter, old.notAfter, `${key(c)} is kept`);
          continue;
        }
        assert.ok(new Date(c.notAfter) > new Date(old.notAfter), `${key(c)} expires later than before`);
        renewed++;
      }
      // 7 leaves and 3 kubeconfigs per master, super-admin.conf on the first
      assert.equal(renewed, 3 * 10 + 1);
      for (const m of masters)
        assert.ok(
          servedSans(m.ip, 'apiserver.cluster.local').includes(`DNS:${addedSans[0]}`),
          'the added names stay',
        );
      const health = mustSsh(setup, m1, `${etcdctl(masters.map((m) => m.ip))} endpoint health 2>&1`);
      assert.equal((health.match(/is healthy/g) ?? []).length, 3, health);
      // berth's admin kubeconfig was fetched again: its client certificate is the renewed one
      const admin = mustSsh(
        setup,
        m0,
        "sed -n 's/^ *client-certificate-data: //p' /etc/kubernetes/admin.conf",
      );
      assert.ok(
        readFileSync(kubeconfig, 'utf8').includes(admin.trim()),
        'the local kubeconfig is the renewed one',
      );
      assertReadyNodes(
        kubeconfig,
        [...masters, node].map((h) => h.ip),
      );
    },
  );

  const kubeconfigOn = '/root/t-kadm-ha.kubeconfig';
  const kubectlOnNode = `/usr/bin/kubectl --kubeconfig ${kubeconfigOn} --cache-dir /root/t-kadm-ha.kube-cache --request-timeout=3s get nodes -o name`;
  const doc = parseDocument(readFileSync(kubeconfig, 'utf8'));
  doc.setIn(['clusters', 0, 'cluster', 'server'], 'https://apiserver.cluster.local:6443');
  mustSsh(setup, node, `umask 077; cat > ${kubeconfigOn} <<'EOF'\n${doc.toString()}EOF\n${kubectlOnNode}`);
  setup.onCleanup(() => ssh(setup, node, `rm -rf ${kubeconfigOn} /root/t-kadm-ha.kube-cache`));

  await setHostLink(sb.name, m0.ip, 'down');
  const down = Date.now();
  let linkDown = true;
  setup.onCleanup(async () => {
    if (linkDown) await setHostLink(sb.name, m0.ip, 'up');
  });

  await t.test(
    'with a master down the worker reaches the API through its balancer and etcd keeps quorum',
    async () => {
      let answered = 0;
      let lastError = '';
      for (let i = 0; i < 60 && answered < 5 && Date.now() - down < 40_000; i++) {
        const r = ssh(setup, node, kubectlOnNode);
        if (r.status === 0 && r.out.split('\n').filter(Boolean).length === 4) answered++;
        else {
          answered = 0;
          lastError = r.err.trim();
          await sleep(500);
        }
      }
      console.log(
        `the worker's kubectl answered 5 times in a row ${Date.now() - down} ms after the link went down`,
      );
      assert.equal(answered, 5, `kubectl on the worker through apiserver.cluster.local: ${lastError}`);
      const dnat = mustSsh(setup, node, 'iptables-save -t nat | grep "^-A BERTH-APISERVER" || :');
      assert.doesNotMatch(dnat, new RegExp(`${m0.ip.replace(/\./g, '\\.')}:6443`));
      const health = ssh(setup, m1, `${etcdctl(masters.map((m) => m.ip))} endpoint health 2>&1`).out;
      assert.equal((health.match(/is healthy/g) ?? []).length, 2, health);
      // a write needs quorum: two members of three give it
      mustSsh(setup, m1, `${etcdctl([m1.ip])} put /t-kadm-ha/quorum ok`);
      assert.match(
        mustSsh(setup, m2, `${etcdctl([m2.ip])} get /t-kadm-ha/quorum --print-value-only`),
        /^ok$/m,
      );
    },
  );

  await setHostLink(sb.name, m0.ip, 'up');
  linkDown = false;

  await t.test(
    'delete --masters: etcd has two members, the balancers name only the masters left',
    async () => {
      const del = await berthOk(['delete', '--masters', m0.ip, '--cluster', cluster], 300_000);
      console.log(`delete of a master took ${(del.ms / 1000).toFixed(1)} s`);
      const left = [m1.ip, m2.ip];
      const members = JSON.parse(mustSsh(setup, m1, `${etcdctl(left)} member list -w json`)) as {
        members: Array<{ peerURLs: string[] }>;
      };
      assert.deepEqual(
        members.members.map((m) => m.peerURLs[0]).sort(),
        left.map((ip) => `https://${ip}:2380`).sort(),
      );
      const health = mustSsh(setup, m1, `${etcdctl(left)} endpoint health 2>&1`);
      assert.equal((health.match(/is healthy/g) ?? []).length, 2, health);
      const conf = mustSsh(setup, node, 'cat /etc/berth/apiserver-lb.conf');
      assert.deepEqual(
        conf
          .split('\n')
          .filter((l) => l.startsWith('master '))
          .sort(),
        left.map((ip) => `master ${ip}`).sort(),
      );
      for (const m of [m1, m2]) {
        const lb = mustSsh(setup, m, 'cat /etc/berth/apiserver-lb.conf 2>/dev/null || :');
        assert.doesNotMatch(lb, new RegExp(`master ${m0.ip.replace(/\./g, '\\.')}\\n`), `${m.ip}'s balancer`);
      }
      assert.deepEqual(
        kubectlNodes(kubeconfig)
          .map((n) => n.ip)
          .sort(),
        [m1.ip, m2.ip, node.ip].sort(),
      );
      assert.equal(
        mustSsh(setup, m0, 'ls -d /etc/kubernetes/manifests/* /var/lib/etcd/member 2>/dev/null || :'),
        '',
      );
    },
  );
});

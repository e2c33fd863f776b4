// A cluster's whole life through the real CLI on four sandbox hosts: run, a pod pulling through the
// mirror berth configured, unchanged re-apply, status, kubeconfig, cert check, add and delete of a node
// (and once of a master), reset; every host must end exactly as it began.
// It runs on the tests' default hosts (systemd where the machine has it), then on hosts with sshd as
// PID 1, where berth's own supervisor runs the services.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { loadOrCreateSecrets } from '../../src/apply/state.js';
import type { HostInit } from '../../src/sandbox/index.js';
import {
  assertHostAsBefore,
  assertReadyNodes,
  berthOk,
  type HostSnapshot,
  kubectl,
  mustSsh,
  runArgs,
  setupCluster,
  snapshotHost,
} from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';

test('cluster lifecycle: run, pull, re-apply, status, add, delete, reset', (t) => lifecycle(t, testInit));
test('cluster lifecycle on --init sshd hosts', { skip: testInit === 'sshd' && 'ran above' }, (t) =>
  lifecycle(t, 'sshd'),
);

async function lifecycle(t: TestContext, init: HostInit | undefined): Promise<void> {
  const cluster = init === 'sshd' ? 't-cl-life-s' : 't-cl-life';
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 4, ...(init ? { init } : {}) });
  const { sb, home } = setup;
  const [h0, h1, h2, h3] = sb.hosts as [
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
    (typeof sb.hosts)[0],
  ];
  const kubeconfig = join(home, cluster, 'kubeconfig');
  const journal = join(home, cluster, 'journal.jsonl');
  const lap = (() => {
    const start = Date.now();
    return (what: string) => console.log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  })();

  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  lap('hosts snapshotted');
  setup.resetOnCleanup(cluster);

  const run = runArgs(setup.sb.name, cluster, { masters: 1, nodes: 2 });
  const first = await berthOk(run);
  lap(`run (1 master + 2 nodes) took ${(first.ms / 1000).toFixed(1)} s`);
  assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip]);

  await t.test(
    'a pod on a node pulls through the mirror with what berth configured, no credentials of its own',
    async () => {
      // The pod names the image by its public name and gives no pull secret: the node's runtime must find it
      // in the cluster registry through the mirror berth configured, logged in with what berth wrote.
      const pod = `apiVersion: v1
kind: Pod
metadata: { name: t-pull, namespace: default }
spec:
  nodeName: ${h1.name}
  containers:
    - { name: pause, image: registry.k8s.io/pause:3.9, imagePullPolicy: Always }
`;
      kubectl(kubeconfig, ['apply', '-f', '-'], pod);
      kubectl(kubeconfig, ['wait', '--for=condition=Ready', 'pod/t-pull', '--timeout=60s']);
      const imageId = kubectl(kubeconfig, [
        'get',
        'pod',
        't-pull',
        '-o',
        'jsonpath={.status.containerStatuses[0].imageID}',
      ]).trim();
      kubectl(kubeconfig, ['delete', 'pod', 't-pull', '--wait=false']);
      const stored = mustSsh(
        setup,
        h0,
        `cat /var/lib/berth/${cluster}/rootfs/registry/docker/registry/v2/repositories/pause/_manifests/tags/3.9/current/link`,
      ).trim();
      assert.match(stored, /^sha256:[0-9a-f]{64}$/);
      assert.ok(imageId.endsWith(stored), `the pod runs ${imageId}, the cluster registry holds ${stored}`);
    },
  );

  await t.test(
    "the cluster registry refuses anonymous pulls and pushes and the image's default password",
    async () => {
      const { registryPassword } = await loadOrCreateSecrets(cluster);
      assert.notEqual(registryPassword, 'passw0rd');
      const status = (args: string) =>
        mustSsh(
          setup,
          h1,
          `curl -s -o /dev/null -w '%{http_code}' ${args} http://sealos.hub:5000/v2/`,
        ).trim();
      const upload = (args: string) =>
        mustSsh(
          setup,
          h1,
          `curl -s -o /dev/null -w '%{http_code}' -X POST ${args} http://sealos.hub:5000/v2/pause/blobs/uploads/`,
        ).trim();
      assert.equal(status(''), '401', 'anonymous API access');
      assert.equal(upload(''), '401', 'anonymous push');
      assert.equal(status('-u admin:passw0rd'), '401', "the image's default password");
      assert.equal(status(`-u admin:${registryPassword}`), '200', 'the generated password');
    },
  );

  // how quick it is is bench/distribute.ts's business
  await t.test('an unchanged re-apply leaves the journal as it was', async () => {
    const journalBefore = readFileSync(journal);
    const again = await berthOk(run);
    lap(`re-apply took ${(again.ms / 1000).toFixed(1)} s`);
    assert.deepEqual(readFileSync(journal), journalBefore);
    // only the phases that look (facts, images) or verify (readiness) run; every other one says it has no work
    assert.deepEqual(
      [...again.stderr.matchAll(/^==> (.*)$/gm)].map((m) => m[1]),
      ['gather host facts', 'mount and merge images', 'wait for every node to be Ready'],
    );
  });

  await t.test('status --json shows three Ready hosts', async () => {
    const r = await berthOk(['status', '--cluster', cluster, '--json']);
    const s = JSON.parse(r.stdout) as { phase: string; hosts: Array<{ ip: string; ready?: boolean }> };
    assert.equal(s.phase, 'ClusterSuccess');
    assert.deepEqual(
      s.hosts.map((h) => `${h.ip} ${h.ready}`).sort(),
      [h0.ip, h1.ip, h2.ip].map((ip) => `${ip} true`).sort(),
    );
  });

  await t.test(
    'kubeconfig prints the admin kubeconfig, pointed at the first master; --path its file',
    async () => {
      const printed = (await berthOk(['kubeconfig', '--cluster', cluster])).stdout;
      assert.match(printed, new RegExp(`server: https://${h0.ip.replace(/\./g, '\\.')}:6443`));
      const copy = join(home, 'printed.kubeconfig');
      writeFileSync(copy, printed, { mode: 0o600 });
      assertReadyNodes(copy, [h0.ip, h1.ip, h2.ip]);
      const path = (await berthOk(['kubeconfig', '--cluster', cluster, '--path'])).stdout;
      assert.equal(path, `${kubeconfig}\n`);
    },
  );

  await t.test(
    "cert check lists the master's certificates; status warns of one about to expire",
    async () => {
      const tls = '/var/lib/rancher/k3s/server/tls';
      const check = await berthOk(['cert', 'check', '--cluster', cluster, '--json']);
      lap(`cert check took ${(check.ms / 1000).toFixed(1)} s`);
      const json = JSON.parse(check.stdout) as {
        certificates: Array<{
          host: string;
          path: string;
          subject: string;
          ipAddresses: string[];
          daysLeft: number;
        }>;
        failed: unknown[];
      };
      assert.deepEqual(json.failed, []);
      assert.deepEqual([...new Set(json.certificates.map((c) => c.host))], [h0.ip], 'the master only');
      const serving = json.certificates.find((c) => c.path === `${tls}/serving-kube-apiserver.crt`);
      assert.equal(serving?.subject, 'CN=kube-apiserver');
      assert.ok(serving?.ipAddresses.includes(h0.ip), `SANs of ${JSON.stringify(serving)}`);
      assert.ok((serving?.daysLeft ?? 0) >= 364);
      assert.match(
        json.certificates.find((c) => c.path === `${tls}/server-ca.crt`)?.subject ?? '',
        /^CN=k3s-server-ca@/,
      );
      assert.equal(
        json.certificates.find((c) => c.path === '/etc/rancher/k3s/k3s.yaml')?.subject,
        'O=system:masters, CN=system:admin',
        'the admin kubeconfig embeds its client certificate',
      );
      const text = (await berthOk(['cert', 'check', '--cluster', cluster])).stdout.trimEnd().split('\n');
      assert.match(text[0] ?? '', /^HOST +PATH +SUBJECT +NOT AFTER +DAYS LEFT +SANS$/);
      assert.equal(text.length, json.certificates.length + 1);
      const row = new RegExp(
        `^${h0.ip.replaceAll('.', '\\.')} +${tls}/serving-kube-apiserver\\.crt +CN=kube-apiserver +\\S+Z +36[45] +\\S*kubernetes\\.default\\.svc`,
      );
      assert.ok(
        text.some((l) => row.test(l)),
        text.join('\n'),
      );
      const quiet = await berthOk(['status', '--cluster', cluster]);
      lap(`status took ${(quiet.ms / 1000).toFixed(1)} s`);
      assert.doesNotMatch(quiet.stderr, /certificate/);
      mustSsh(
        setup,
        h0,
        `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=soon -days 10 -out ${tls}/soon.crt 2>/dev/null`,
      );
      const warned = await berthOk(['status', '--cluster', cluster]);
      mustSsh(setup, h0, `rm -f ${tls}/soon.crt`);
      const lines = warned.stderr.split('\n').filter((l) => l.includes('certificate'));
      assert.equal(lines.length, 1, warned.stderr);
      assert.match(
        lines[0] ?? '',
        new RegExp(
          `^warning: certificate ${h0.ip}:${tls}/soon\\.crt \\(CN=soon\\) expires in (9|10) day\\(s\\)`,
        ),
      );
    },
  );

  await t.test('add a fourth host as node, then delete it: it is as before', async () => {
    const add = await berthOk(['add', '--nodes', h3.ip, '--cluster', cluster]);
    lap(`add took ${(add.ms / 1000).toFixed(1)} s`);
    assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip, h3.ip]);
    const del = await berthOk(['delete', '--nodes', h3.ip, '--cluster', cluster]);
    lap(`delete took ${(del.ms / 1000).toFixed(1)} s`);
    assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip]);
    await assertHostAsBefore(setup, h3, before.get(h3.ip) as HostSnapshot);
  });

  // once: the sshd-host run repeats the node's add and delete, which cover the services there
  if (init !== 'sshd')
    await t.test('add the fourth host as master, then delete it: it is as before', async () => {
      const add = await berthOk(['add', '--masters', h3.ip, '--cluster', cluster]);
      lap(`add --masters took ${(add.ms / 1000).toFixed(1)} s`);
      assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip, h3.ip]);
      const status = JSON.parse((await berthOk(['status', '--cluster', cluster, '--json'])).stdout) as {
        hosts: Array<{ ip: string; roles: string[] }>;
      };
      assert.deepEqual(status.hosts.find((h) => h.ip === h3.ip)?.roles, ['master']);
      assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip, h3.ip], `https://${h3.ip}:6443`);
      const del = await berthOk(['delete', '--masters', h3.ip, '--cluster', cluster]);
      lap(`delete --masters took ${(del.ms / 1000).toFixed(1)} s`);
      assertReadyNodes(kubeconfig, [h0.ip, h1.ip, h2.ip]);
      await assertHostAsBefore(setup, h3, before.get(h3.ip) as HostSnapshot);
    });

  await t.test('reset returns every host to its snapshot and forgets the cluster', async () => {
    const r = await berthOk(['reset', '--cluster', cluster]);
    lap(`reset took ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal(existsSync(join(home, cluster)), false, 'the cluster state dir is gone');
    for (const h of sb.hosts) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
  });
}

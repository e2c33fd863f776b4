// The shared stand-in Kubernetes API (test/stand-ins/kube-api) with its workload controller, served in
// process on loopback and driven by the real kubectl: apply (client- and server-side), get, patch, delete,
// wait and rollout status on the workload kinds, Services, ConfigMaps, Secrets, Namespaces and CRD objects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeApiServer } from '../stand-ins/kube-api/api-server.js';
import { WorkloadController } from '../stand-ins/kube-api/controllers/workload-controller.js';
import type { KubeObject } from '../stand-ins/kube-api/kube-object.js';
import { strategicMerge } from '../stand-ins/kube-api/object-patch.js';
import { MemoryStorage } from '../stand-ins/kube-api/object-storage.js';

const root = mkdtempSync(join(tmpdir(), 't-kube-api-'));

interface Cluster {
  api: KubeApiServer;
  url: string;
  kubeconfig: string;
  close: () => Promise<void>;
}

/** An API server reporting `version` (the machine's kubectl picks its own release by it), with one Ready node. */
async function startCluster(name: string, version: string): Promise<Cluster> {
  const storage = new MemoryStorage();
  let address = '127.0.0.1:0';
  const api = new KubeApiServer({
    storage,
    version: { major: '1', minor: version.split('.')[1], gitVersion: version },
    advertiseAddress: address,
  });
  const controller = new WorkloadController(api, { onError: (m) => assert.fail(`controller: ${m}`) });
  const server: Server = createServer((req, res) => {
    api.handle(req, res, { name: 'admin', groups: ['system:masters'] }).catch((e: Error) => {
      res.statusCode = 500;
      res.end(e.message);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  await api.ensureBuiltins();
  await api.create(api.typeOf('', 'Node'), undefined, {
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
    spec: { podCIDR: '10.42.0.0/24' },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
    },
  });
  controller.start();
  const kubeconfig = join(root, `${name}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "http://${address}"}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return {
    api,
    url: `http://${address}`,
    kubeconfig,
    close: async () => {
      controller.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function kubectl(c: Cluster, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', c.kubeconfig, '--cache-dir', join(root, `cache-${c.kubeconfig.length}`), ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(c: Cluster, ...args: string[]): Promise<string> {
  const r = await kubectl(c, args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}`);
  return r.out;
}

async function apply(c: Cluster, yaml: string, ...extra: string[]): Promise<string> {
  const r = await kubectl(c, ['apply', '-f', '-', ...extra], yaml);
  assert.equal(r.code, 0, `kubectl apply: ${r.out}`);
  return r.out;
}

const deployment = (image: string, sidecar = 'busybox:1.36') => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team, labels: {tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 80, name: http}]
        env: [{name: A, value: "1"}]
      - name: side
        image: ${sidecar}
        command: [sleep, infinity]
`;

const workloads = `
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: team}
stringData: {password: s3cret}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: team}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: team}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: redis:7}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: team}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox:1.36, command: ["true"]}]
---
${deployment('nginx:1.25')}`;

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
`;

const widget = (size: string) => `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: team}
spec: {size: ${size}}
`;

after(() => rmSync(root, { recursive: true, force: true }));

describe('stand-in API with kubectl 1.32', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster('v132', 'v1.32.4');
  });
  after(async () => c.close());

  test('discovery lists built-in kinds and the starting namespaces', async () => {
    const resources = await ok(c, 'api-resources', '--no-headers');
    for (const r of [
      'deployments',
      'daemonsets',
      'statefulsets',
      'jobs',
      'customresourcedefinitions',
      'leases',
    ])
      assert.match(resources, new RegExp(`^${r}\\s`, 'm'));
    assert.deepEqual((await ok(c, 'get', 'ns', '-o', 'name')).trim().split('\n').sort(), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
  });

  test('apply creates every kind; rollout status and wait succeed on each workload', async () => {
    const out = await apply(c, workloads);
    for (const line of [
      'namespace/team created',
      'service/web created',
      'configmap/settings created',
      'secret/creds created',
      'daemonset.apps/agent created',
      'statefulset.apps/db created',
      'job.batch/once created',
      'deployment.apps/web created',
    ])
      assert.ok(out.includes(line), out);
    const ns = ['-n', 'team', '--timeout=30s'];
    assert.match(await ok(c, 'rollout', 'status', 'deployment/web', ...ns), /successfully rolled out/);
    assert.match(await ok(c, 'rollout', 'status', 'daemonset/agent', ...ns), /successfully rolled out/);
    assert.match(await ok(c, 'rollout', 'status', 'statefulset/db', ...ns), /roll out complete/);
    await ok(c, 'wait', '--for=condition=complete', 'job/once', ...ns);
    await ok(c, 'wait', '--for=condition=Available', 'deployment/web', ...ns);
    await ok(c, 'wait', '--for=condition=Ready', 'pod', '-l', 'app=web', ...ns);
    const pods = await ok(c, 'get', 'pods', '-n', 'team', '--no-headers');
    assert.equal(pods.match(/^web-\S+\s+2\/2\s+Running/gm)?.length, 2, pods);
    assert.equal(pods.match(/^once-\S+\s+0\/1\s+Completed/gm)?.length, 2, pods);
    assert.match(pods, /^db-0\s+1\/1\s+Running/m);
    assert.match(pods, /^db-1\s+1\/1\s+Running/m);
    assert.match(pods, /^agent-\S+\s+1\/1\s+Running/m);
    const svc = JSON.parse(await ok(c, 'get', 'svc', 'web', '-n', 'team', '-o', 'json'));
    assert.match(svc.spec.clusterIP, /^10\.43\.\d+\.\d+$/);
    const secret = JSON.parse(await ok(c, 'get', 'secret', 'creds', '-n', 'team', '-o', 'json'));
    assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 's3cret');
  });

  test('selectors: labels, pod fields, and a list of one name', async () => {
    const names = await ok(c, 'get', 'pods', '-n', 'team', '-l', 'app in (web,db)', '-o', 'name');
    assert.equal(names.trim().split('\n').length, 4, names);
    const done = await ok(
      c,
      'get',
      'pods',
      '-n',
      'team',
      '--field-selector',
      'status.phase=Succeeded',
      '-o',
      'name',
    );
    assert.equal(done.trim().split('\n').length, 2, done);
    const onNode = await ok(c, 'get', 'pods', '-A', '--field-selector', 'spec.nodeName=n1', '-o', 'name');
    assert.equal(onNode.trim().split('\n').length, 7, onNode);
    const notWeb = await ok(c, 'get', 'pods', '-n', 'team', '-l', 'app!=web,app', '-o', 'name');
    assert.ok(!notWeb.includes('pod/web-'), notWeb);
  });

  test('a changed template rolls out a new ReplicaSet; the other container keeps its fields', async () => {
    const before = JSON.parse(await ok(c, 'get', 'deploy', 'web', '-n', 'team', '-o', 'json'));
    assert.equal(before.metadata.generation, 1);
    assert.match(await apply(c, deployment('nginx:1.27')), /deployment.apps\/web configured/);
    assert.match(
      await ok(c, 'rollout', 'status', 'deploy/web', '-n', 'team', '--timeout=30s'),
      /successfully/,
    );
    const d = JSON.parse(await ok(c, 'get', 'deploy', 'web', '-n', 'team', '-o', 'json'));
    assert.equal(d.metadata.generation, 2);
    assert.equal(d.status.observedGeneration, 2);
    assert.equal(Number(d.metadata.resourceVersion) > Number(before.metadata.resourceVersion), true);
    const [web, side] = d.spec.template.spec.containers;
    assert.equal(web.image, 'nginx:1.27');
    assert.deepEqual(web.env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(side.command, ['sleep', 'infinity']);
    const rs = await ok(c, 'get', 'rs', '-n', 'team', '--no-headers');
    assert.equal(rs.trim().split('\n').length, 2, rs);
    assert.match(rs, /^web-\S+\s+0\s+0\s+0\s/m, 'the old ReplicaSet is scaled to zero');
    const images = await ok(
      c,
      'get',
      'pods',
      '-n',
      'team',
      '-l',
      'app=web',
      '-o',
      'jsonpath={.items[*].spec.containers[0].image}',
    );
    assert.equal(images, 'nginx:1.27 nginx:1.27');
  });

  test('kubectl scale changes replicas through the scale subresource', async () => {
    await ok(c, 'scale', 'deployment/web', '-n', 'team', '--replicas=3');
    assert.match(
      await ok(c, 'rollout', 'status', 'deploy/web', '-n', 'team', '--timeout=30s'),
      /successfully/,
    );
    assert.equal(
      await ok(c, 'get', 'deploy', 'web', '-n', 'team', '-o', 'jsonpath={.status.readyReplicas}'),
      '3',
    );
    await ok(c, 'scale', 'deployment/web', '-n', 'team', '--replicas=2');
    assert.match(
      await ok(c, 'rollout', 'status', 'deploy/web', '-n', 'team', '--timeout=30s'),
      /successfully/,
    );
  });

  test('server-side apply creates and updates; merge and JSON patches', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: team}\ndata: {a: "1"}\n';
    assert.match(await apply(c, cm, '--server-side'), /configmap\/ssa serverside-applied/);
    assert.match(await apply(c, cm.replace('"1"', '"2"'), '--server-side'), /serverside-applied/);
    await ok(c, 'patch', 'cm', 'ssa', '-n', 'team', '--type=merge', '-p', '{"data":{"b":"3"}}');
    await ok(
      c,
      'patch',
      'cm',
      'ssa',
      '-n',
      'team',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/data/a"}]',
    );
    const got = JSON.parse(await ok(c, 'get', 'cm', 'ssa', '-n', 'team', '-o', 'json'));
    assert.deepEqual(got.data, { b: '3' });
    assert.match(
      await apply(c, deployment('nginx:1.27', 'busybox:1.37'), '--server-side', '--force-conflicts'),
      /serverside-applied/,
    );
    assert.match(
      await ok(c, 'rollout', 'status', 'deploy/web', '-n', 'team', '--timeout=30s'),
      /successfully/,
    );
  });

  test('a CRD registers its kind; custom objects apply, print their columns, patch and go with the CRD', async () => {
    assert.match(
      await apply(c, crd),
      /customresourcedefinition.apiextensions.k8s.io\/widgets.example.com created/,
    );
    await ok(c, 'wait', '--for=condition=established', 'crd/widgets.example.com', '--timeout=10s');
    assert.match(await apply(c, widget('small')), /widget.example.com\/w1 created/);
    assert.match(await apply(c, widget('large')), /widget.example.com\/w1 configured/);
    assert.match(await ok(c, 'get', 'wd', '-n', 'team'), /^w1\s+large\s*$/m);
    await ok(
      c,
      'patch',
      'widget',
      'w1',
      '-n',
      'team',
      '--type=merge',
      '--subresource=status',
      '-p',
      '{"status":{"phase":"Ready"}}',
    );
    await ok(c, 'wait', '--for=jsonpath={.status.phase}=Ready', 'widget/w1', '-n', 'team', '--timeout=10s');
    const w = JSON.parse(await ok(c, 'get', 'widget', 'w1', '-n', 'team', '-o', 'json'));
    assert.equal(w.metadata.generation, 2, 'the spec changed once; the status patch does not count');
    assert.match(await apply(c, widget('large'), '--server-side'), /serverside-applied/);
    await ok(c, 'delete', 'crd', 'widgets.example.com');
    const gone = await kubectl(c, ['get', 'widgets.example.com', '-n', 'team']);
    assert.notEqual(gone.code, 0);
  });

  test('an update with a stale resourceVersion conflicts', async () => {
    const cm = await ok(c, 'get', 'cm', 'settings', '-n', 'team', '-o', 'json');
    await ok(c, 'patch', 'cm', 'settings', '-n', 'team', '--type=merge', '-p', '{"data":{"mode":"slow"}}');
    const r = await kubectl(c, ['replace', '-f', '-'], cm);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /the object has been modified/);
  });

  test('a watch from an earlier list sees the changes in between', async () => {
    const list = (await (await fetch(`${c.url}/api/v1/namespaces/team/configmaps`)).json()) as KubeObject;
    await ok(c, 'patch', 'cm', 'settings', '-n', 'team', '--type=merge', '-p', '{"data":{"mode":"mid"}}');
    const res = await fetch(
      `${c.url}/api/v1/namespaces/team/configmaps?watch=1&fieldSelector=metadata.name%3Dsettings&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=1`,
    );
    const events = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as KubeObject);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.data.mode]),
      [['MODIFIED', 'mid']],
    );
  });

  test('creating into a missing namespace names it; deleting cascades to owned objects and namespace contents', async () => {
    const missing = await kubectl(
      c,
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n',
    );
    assert.match(missing.out, /namespaces "nowhere" not found/);
    await ok(c, 'delete', 'deployment', 'web', '-n', 'team', '--timeout=20s');
    assert.equal((await ok(c, 'get', 'rs,pods', '-n', 'team', '-l', 'app=web', '-o', 'name')).trim(), '');
    await ok(c, 'delete', 'namespace', 'team', '--timeout=20s');
    const left = await ok(c, 'get', 'pods,cm,sts,ds,jobs', '-A', '-o', 'name');
    assert.equal(left.trim(), '');
  });
});

describe('stand-in API with kubectl 1.28 (the k3s stand-in reports v1.28)', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster('v128', 'v1.28.15+k3s1');
  });
  after(async () => c.close());

  test('apply client- and server-side, rollout status, delete --wait', async () => {
    await apply(c, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n');
    assert.match(await apply(c, deployment('nginx:1.25')), /created/);
    assert.match(await apply(c, deployment('nginx:1.27')), /configured/);
    assert.match(
      await ok(c, 'rollout', 'status', 'deploy/web', '-n', 'team', '--timeout=30s'),
      /successfully/,
    );
    assert.match(
      await apply(c, deployment('nginx:1.27', 'busybox:1.37'), '--server-side', '--force-conflicts'),
      /serverside-applied/,
    );
    await ok(c, 'delete', '-n', 'team', 'deploy/web', '--wait', '--timeout=20s');
  });
});

test('strategic merge: lists with merge keys merge by key, directives apply, other lists are replaced', () => {
  const live = {
    spec: {
      containers: [
        { name: 'a', image: 'x:1', env: [{ name: 'E', value: '1' }] },
        { name: 'b', image: 'y:1' },
      ],
      args: ['one', 'two'],
    },
    metadata: { finalizers: ['f1'] },
  };
  const patched = strategicMerge(live, {
    spec: {
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [
        { name: 'a', image: 'x:2' },
        { name: 'b', $patch: 'delete' },
        { name: 'c', image: 'z:1' },
      ],
      args: ['three'],
    },
    metadata: { finalizers: ['f2'] },
  }) as KubeObject;
  assert.deepEqual(patched.spec.containers, [
    { name: 'a', image: 'x:2', env: [{ name: 'E', value: '1' }] },
    { name: 'c', image: 'z:1' },
  ]);
  assert.deepEqual(patched.spec.args, ['three']);
  assert.deepEqual(patched.metadata.finalizers, ['f1', 'f2']);
});

describe('stand-in API in process', () => {
  const setup = async () => {
    const api = new KubeApiServer({
      storage: new MemoryStorage(),
      version: { gitVersion: 'v1.32.4' },
      advertiseAddress: '127.0.0.1:6443',
    });
    await api.ensureBuiltins();
    return api;
  };

  test('generation counts spec changes, not label or status changes', async () => {
    const api = await setup();
    const t = api.typeOf('apps', 'Deployment');
    const body = {
      metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } } } },
    };
    const created = await api.create(t, 'default', body);
    assert.equal(created.metadata.generation, 1);
    const labelled = await api.update(t, 'default', 'd', {
      ...created,
      metadata: { ...created.metadata, labels: { x: 'y' } },
    });
    assert.equal(labelled.metadata.generation, 1);
    assert.ok(Number(labelled.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    const withStatus = await api.update(
      t,
      'default',
      'd',
      { ...labelled, status: { replicas: 3 } },
      { status: true },
    );
    assert.equal(withStatus.metadata.generation, 1);
    const scaled = await api.update(t, 'default', 'd', {
      ...withStatus,
      spec: { ...withStatus.spec, replicas: 3 },
    });
    assert.equal(scaled.metadata.generation, 2);
    assert.deepEqual(scaled.status, { replicas: 3 }, 'a spec update keeps the status');
    const same = await api.update(t, 'default', 'd', scaled);
    assert.equal(
      same.metadata.resourceVersion,
      scaled.metadata.resourceVersion,
      'a no-op update writes nothing',
    );
  });

  test('finalizers hold a deletion; orphaning keeps dependents without their owner reference', async () => {
    const api = await setup();
    const cm = api.typeOf('', 'ConfigMap');
    const owner = await api.create(cm, 'default', {
      metadata: { name: 'owner', finalizers: ['example.com/x'] },
    });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    await api.create(cm, 'default', { metadata: { name: 'kept', ownerReferences: [ref] } });
    const marked = await api.remove(cm, 'default', 'owner');
    assert.equal(marked.gone, false);
    assert.ok(api.get(cm, 'default', 'owner')?.metadata.deletionTimestamp);
    const current = api.get(cm, 'default', 'owner')!;
    await api.update(cm, 'default', 'owner', {
      ...current,
      metadata: { ...current.metadata, finalizers: [] },
    });
    assert.equal(api.get(cm, 'default', 'owner'), undefined, 'gone once the last finalizer is removed');
    assert.equal(api.get(cm, 'default', 'kept'), undefined, 'its dependent went with it');
    const second = await api.create(cm, 'default', { metadata: { name: 'owner2' } });
    const ref2 = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner2', uid: second.metadata.uid };
    await api.create(cm, 'default', { metadata: { name: 'orphan', ownerReferences: [ref2] } });
    await api.remove(cm, 'default', 'owner2', { propagationPolicy: 'Orphan' });
    assert.equal(api.get(cm, 'default', 'orphan')?.metadata.ownerReferences, undefined);
  });
});

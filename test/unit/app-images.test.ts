// Application images on an applied cluster: how `berth run APP` edits the Clusterfile, the CMD steps
// keyed by image name and content (not list position), the kept --cmd override, and the workloads berth
// waits for after a CMD.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clusterWithApps, withEnv, withImages } from '../../src/apply/add-apps.js';
import { declaredWorkloads } from '../../src/apply/app-workloads.js';
import { type PreparedApp, prepareImages } from '../../src/apply/cluster-images.js';
import { runApplications } from '../../src/apply/phases/image-commands.js';
import type { PlannedCluster } from '../../src/apply/planned-cluster.js';
import { appCommands, type ConfigDoc, clusterFromRunArgs } from '../../src/clusterfile/index.js';
import { buildImage } from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import { hostPlatform } from '../../src/image/types.js';
import { testDir } from '../helpers/test-dir.js';

test('berth run APP adds, keeps and replaces images by name', () => {
  const list = ['example/k3s:v1.28', 'example/hello:1.0'];
  assert.deepEqual(withImages(list, ['example/hello:1.0']), list);
  assert.deepEqual(withImages(list, ['example/hello:2.0', 'example/other:1']), [
    'example/k3s:v1.28',
    'example/hello:2.0',
    'example/other:1',
  ]);
  assert.deepEqual(withEnv(['a=1', 'b=2'], ['b=3', 'c=4']), ['a=1', 'b=3', 'c=4']);
});

test('--cmd on an applied cluster is kept per application image in the Clusterfile', () => {
  const cluster = clusterFromRunArgs({ images: ['example/k3s:v1.28'], masters: '10.0.0.2' });
  const next = clusterWithApps(cluster, { images: ['example/hello:1.0'], env: ['x=1'], command: 'make it' });
  assert.deepEqual(next.spec.image, ['example/k3s:v1.28', 'example/hello:1.0']);
  assert.deepEqual(next.spec.env, ['x=1']);
  assert.deepEqual(appCommands(next), { 'example/hello': 'make it' });
  assert.equal(next.spec.command, undefined, "the cluster image's own CMD is left alone");
});

function plannedWith(apps: PreparedApp[]): PlannedCluster {
  return {
    masters: [{ ip: '10.0.0.2' }],
    remoteDir: '/var/lib/berth/c',
    images: { apps },
    runtime: { kubeconfig: () => ({ remotePath: '/etc/rancher/k3s/k3s.yaml' }) },
    runtimeCtx: {},
  } as unknown as PlannedCluster;
}

const appOf = (name: string, digest: string): PreparedApp =>
  ({
    image: { ref: `${name}:1`, name: `${name}:1`, manifestDigest: digest },
    name,
    id: name.replace('/', '-'),
    dir: `/tmp/${name}`,
    command: 'kubectl apply -f manifests/',
    env: { a: '1' },
    key: digest,
  }) as unknown as PreparedApp;

test('application steps are keyed by image name and content, not by place in the list', async () => {
  const a = appOf('example/a', 'sha256:aa');
  const b = appOf('example/b', 'sha256:bb');
  const steps = async (apps: PreparedApp[]) =>
    new Map(
      (await runApplications.plan(plannedWith(apps))).steps.map((s) => [s.id, JSON.stringify(s.inputs)]),
    );
  const ab = await steps([a, b]);
  const ba = await steps([b, a]);
  assert.deepEqual([...ab.keys()], ['app-example-a', 'app-example-b']);
  assert.equal(ab.get('app-example-a'), ba.get('app-example-a'));
  assert.equal(ab.get('app-example-b'), ba.get('app-example-b'));
  const newer = await steps([appOf('example/a', 'sha256:cc'), b]);
  assert.notEqual(newer.get('app-example-a'), ab.get('app-example-a'));
  const [step] = (await runApplications.plan(plannedWith([a]))).steps;
  assert.match(step?.commands?.[0] ?? '', /KUBECONFIG=\/etc\/rancher\/k3s\/k3s.yaml /);
  assert.match(step?.failure ?? '', /^application example\/a:1 /);
});

test('berth waits for the workloads the manifests declare', async (t) => {
  const dir = testDir(t, 'berth-app-');
  mkdirSync(join(dir, 'manifests', 'more'), { recursive: true });
  writeFileSync(
    join(dir, 'manifests', 'app.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n',
  );
  writeFileSync(
    join(dir, 'manifests', 'more', 'ds.yml'),
    'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system}\n',
  );
  writeFileSync(join(dir, 'manifests', 'x.yaml.tmpl'), 'kind: Deployment\nmetadata: {name: {{ .n }}}\n');
  assert.deepEqual(await declaredWorkloads(dir), [
    { kind: 'Deployment', namespace: 'default', name: 'web' },
    { kind: 'DaemonSet', namespace: 'kube-system', name: 'agent' },
  ]);
  assert.deepEqual(await declaredWorkloads(join(dir, 'none')), []);
});

test('apps are unpacked by name with env in their templates and Config patches; the rootfs key ignores them', async (t) => {
  const root = testDir(t, 'berth-apps-');
  const store = new ImageStore(join(root, 'store'));
  const context = (name: string, files: Record<string, string>, kubefile: string) => {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    writeFileSync(join(dir, 'Kubefile'), kubefile);
    return dir;
  };
  const rootfs = context(
    'rootfs',
    { 'etc/a.txt': 'a\n' },
    'FROM scratch\nCOPY etc etc\nLABEL sealos.io.type="rootfs"\n',
  );
  const app = context(
    'app',
    { 'manifests/m.yaml.tmpl': 'n: {{ .count }} {{ .who }}\n', 'charts/x/values.yaml': 'a: 1\n' },
    'FROM scratch\nCOPY manifests manifests\nCOPY charts charts\nENV count=1\nCMD ["kubectl apply -f manifests/"]\n',
  );
  await buildImage({ contextDir: rootfs, tags: ['example/base:1'], store });
  await buildImage({ contextDir: app, tags: ['example/app:1'], store });
  const cluster = (images: string[], env: string[]) =>
    clusterFromRunArgs({ images, masters: '10.0.0.2', env });
  const config: ConfigDoc = {
    apiVersion: 'apps.sealos.io/v1beta1',
    kind: 'Config',
    spec: { path: 'charts/x/values.yaml', data: 'b: 2\n', match: 'example/app', strategy: 'merge' },
  };
  const prepare = (c: ReturnType<typeof cluster>) =>
    prepareImages(
      { cluster: c, configs: [config], store, registryPassword: 'p', dir: join(root, 'state') },
      hostPlatform(),
    );
  const alone = await prepare(cluster(['example/base:1'], []));
  const withApp = await prepare(cluster(['example/base:1', 'example/app:1'], ['who=you', 'count=3']));
  const [prepared] = withApp.apps;
  assert.equal(prepared?.id, 'example-app');
  assert.equal(prepared?.dir, join(root, 'state', 'apps', 'example-app'));
  assert.equal(readFileSync(join(prepared?.dir ?? '', 'manifests', 'm.yaml'), 'utf8'), 'n: 3 you\n');
  assert.match(readFileSync(join(prepared?.dir ?? '', 'charts', 'x', 'values.yaml'), 'utf8'), /a: 1\s+b: 2/);
  assert.notEqual(alone.key, withApp.key, 'the env changed the rootfs');
  const sameEnv = await prepare(cluster(['example/base:1'], ['who=you', 'count=3']));
  assert.equal(sameEnv.key, withApp.key, 'adding an app leaves the rootfs key as it was');
  assert.equal(
    existsSync(join(root, 'state', 'apps', 'example-app')),
    false,
    'a removed app leaves no files',
  );
});

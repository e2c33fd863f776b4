// Application images on a running cluster, through the real CLI on two sandbox hosts: the example app
// (examples/hello) rolls out with its image pulled from the cluster registry, runs again only when its
// digest changes or --force says so, names the app, host and last line when its CMD fails, names the pod
// and its reason when its image is missing, and leaves nothing on the first master after reset.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildExampleApp } from '../../examples/example-image.js';
import { buildImage } from '../../src/image/build.js';
import { berth, berthOk, imageRef, kubectl, mustSsh, runArgs, setupCluster } from '../helpers/cluster-e2e.js';

const app = 'example/hello:1.0';
const missing = 'example/hello-missing:1.0';

const phases = (stderr: string) => [...stderr.matchAll(/^==> (.*)$/gm)].map((m) => m[1]);

test('application images: run, skip, new digest, --force, a failing CMD, a CRD app, a missing image, reset', async (t) => {
  const cluster = 't-cl-apps';
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 2 });
  const { sb, home } = setup;
  const [h0] = sb.hosts as [(typeof sb.hosts)[0]];
  setup.resetOnCleanup(cluster);
  const work = join(home, 'build-apps');
  await buildExampleApp({ tag: app, workDir: work });
  await buildExampleApp({
    tag: missing,
    workDir: work,
    env: ['helloName=hello-missing', 'helloImage=docker.io/berth-example/missing:1.0'],
    withoutImages: true,
  });
  const kubeconfig = join(home, cluster, 'kubeconfig');
  const journal = join(home, cluster, 'journal.jsonl');
  const kc = (...args: string[]) => kubectl(kubeconfig, args);
  const appRun = runArgs(setup.sb.name, cluster, { masters: 1, nodes: 1 }, [imageRef, app]);

  await t.test('run RUNTIME+APP: the rollout succeeds with the image of the app registry/', async () => {
    await berthOk(appRun);
    kc('rollout', 'status', 'deployment/hello', '--timeout=60s');
    const pods = JSON.parse(kc('get', 'pods', '-l', 'app=hello', '-o', 'json')) as {
      items: Array<{
        spec: { nodeName?: string };
        status: { phase: string; containerStatuses: Array<{ imageID: string }> };
      }>;
    };
    const stored = readFileSync(
      join(
        home,
        cluster,
        'apps/example-hello/registry/docker/registry/v2/repositories/berth-example/hello/_manifests/tags/1.0/current/link',
      ),
      'utf8',
    ).trim();
    assert.match(stored, /^sha256:[0-9a-f]{64}$/);
    assert.equal(pods.items.length, 1);
    const pod = pods.items[0] as (typeof pods.items)[0];
    assert.equal(pod.status.phase, 'Running');
    assert.ok(pod.spec.nodeName, 'the pod is on a node');
    assert.ok(
      pod.status.containerStatuses[0]?.imageID.endsWith(`@${stored}`),
      pod.status.containerStatuses[0]?.imageID,
    );
    const status = JSON.parse((await berthOk(['status', '--cluster', cluster, '--json'])).stdout) as {
      apps: Array<{ image: string; digest?: string; applied?: string }>;
    };
    assert.equal(status.apps.length, 1);
    assert.equal(status.apps[0]?.image, app);
    assert.match(status.apps[0]?.digest ?? '', /^sha256:/);
    assert.ok(status.apps[0]?.applied, 'applied time');
  });

  await t.test('the same run again runs nothing', async () => {
    const before = readFileSync(journal);
    const again = await berthOk(appRun);
    assert.deepEqual(phases(again.stderr), [
      'gather host facts',
      'mount and merge images',
      'wait for every node to be Ready',
      'wait for the applications to roll out',
    ]);
    assert.deepEqual(readFileSync(journal), before);
  });

  await t.test('--force runs the CMD again, and only it; --dry-run shows it and writes nothing', async () => {
    const before = readFileSync(journal);
    const dry = await berthOk(['run', app, '--cluster', cluster, '--force', '--dry-run']);
    assert.match(dry.stdout, new RegExp(`^  ${h0.ip} app-example-hello: ${app}`, 'm'));
    assert.deepEqual(readFileSync(journal), before);
    const r = await berthOk(['run', app, '--cluster', cluster, '--force']);
    assert.ok(phases(r.stderr).includes('run application images'), r.stderr);
    assert.ok(!phases(r.stderr).includes('distribute the rootfs'), r.stderr);
    assert.match(r.stderr, new RegExp(`${h0.ip} app-example-hello: ${app}`));
  });

  await t.test('a new digest of the app runs its CMD again; the rootfs is untouched', async () => {
    await buildExampleApp({ tag: app, workDir: work, labels: ['revision=2'] });
    const r = await berthOk(['run', app, '--cluster', cluster]);
    const ran = phases(r.stderr);
    assert.ok(ran.includes('run application images'), r.stderr);
    assert.ok(!ran.includes('distribute the rootfs') && !ran.includes('run image commands'), r.stderr);
    const again = await berthOk(['run', app, '--cluster', cluster]);
    assert.ok(!phases(again.stderr).includes('run application images'), again.stderr);
  });

  await t.test('a failing CMD names image, host and last line; the next run retries it', async () => {
    const flag = `/var/lib/berth/${cluster}/may-apply`;
    const cmd = `echo first; test -e ${flag} || { echo it broke >&2; exit 3; }; kubectl apply -f manifests/hello.yaml`;
    const r = await berth(['run', app, '--cluster', cluster, '--cmd', cmd]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, new RegExp(`${h0.ip}: application ${app} .*failed \\(exit 3\\): it broke`));
    mustSsh(setup, h0, `touch ${flag}`);
    const retried = await berthOk(['run', app, '--cluster', cluster]);
    assert.deepEqual(
      [...retried.stderr.matchAll(/^ {2}(\S+ \S+):/gm)].map((m) => m[1]),
      [`${h0.ip} app-example-hello`],
      retried.stderr,
    );
    kc('rollout', 'status', 'deployment/hello', '--timeout=60s');
  });

  await t.test('a CRD app: the CRD, then an object of its kind', async () => {
    const ctx = join(work, 'crd-app');
    mkdirSync(join(ctx, 'manifests'), { recursive: true });
    writeFileSync(
      join(ctx, 'manifests', 'crd.yaml'),
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.berth.dev
spec:
  group: example.berth.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`,
    );
    writeFileSync(
      join(ctx, 'manifests', 'widget.yaml'),
      'apiVersion: example.berth.dev/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: default\nspec:\n  size: 3\n',
    );
    writeFileSync(
      join(ctx, 'Kubefile'),
      `FROM scratch
COPY manifests manifests
LABEL sealos.io.type="application" sealos.io.version="v1beta1"
CMD ["kubectl apply -f manifests/crd.yaml && kubectl wait --for condition=established --timeout=60s crd/widgets.example.berth.dev && kubectl apply -f manifests/widget.yaml"]
`,
    );
    await buildImage({ contextDir: ctx, tags: ['example/widgets:1.0'] });
    await berthOk(['run', 'example/widgets:1.0', '--cluster', cluster]);
    const w = JSON.parse(kc('get', 'widgets.example.berth.dev', 'w1', '-n', 'default', '-o', 'json')) as {
      kind: string;
      spec: { size: number };
    };
    assert.equal(w.kind, 'Widget');
    assert.equal(w.spec.size, 3);
  });

  await t.test('an app whose image is missing leaves ErrImagePull, and the wait names the pod', async () => {
    const r = await berth(['run', missing, '--cluster', cluster, '--app-timeout', '15']);
    assert.equal(r.code, 10, r.stderr);
    assert.match(
      r.stderr,
      /application example\/hello-missing:1\.0: deployment default\/hello-missing not rolled out after 15 s: pod hello-missing-\S+ on \S+: ErrImagePull/,
    );
    assert.ok(!phases(r.stderr).includes('distribute the rootfs'), r.stderr);
    const applied = readFileSync(join(home, cluster, 'Clusterfile'), 'utf8');
    assert.match(applied, /example\/hello-missing:1\.0/);
  });

  await t.test('reordering the images in the Clusterfile runs nothing again', async () => {
    const file = join(home, 'reordered.yaml');
    const text = readFileSync(join(home, cluster, 'Clusterfile'), 'utf8');
    const swapped = text
      .replace(`- ${app}\n`, '- APP\n')
      .replace(`- ${missing}\n`, `- ${app}\n`)
      .replace('- APP\n', `- ${missing}\n`);
    assert.notEqual(swapped, text);
    writeFileSync(file, swapped);
    const r = await berth(['apply', '-f', file, '--app-timeout', '1']);
    assert.equal(r.code, 10, r.stderr);
    assert.deepEqual(phases(r.stderr), [
      'gather host facts',
      'mount and merge images',
      'wait for every node to be Ready',
      'wait for the applications to roll out',
    ]);
  });

  await t.test("reset removes the apps' files from the first master", async () => {
    assert.equal(
      mustSsh(setup, h0, `ls /var/lib/berth/${cluster}/apps`).trim().split('\n').sort().join(' '),
      'example-hello example-hello-missing example-widgets',
    );
    await berthOk(['reset', '--cluster', cluster]);
    assert.equal(
      mustSsh(setup, h0, `test -e /var/lib/berth/${cluster} && echo left || echo gone`).trim(),
      'gone',
    );
  });
});

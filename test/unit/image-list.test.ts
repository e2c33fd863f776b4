// Image references under manifests/ are found line by line as sealos finds them, so that YAML that is
// not strict still builds, and a reference that cannot be parsed fails with file:line.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectImageList } from '../../src/image/image-list.js';

test('manifests that are not strict YAML still give their images; a bad reference names file:line', async (t) => {
  const ctx = await mkdtemp(join(tmpdir(), 't-ilist-'));
  t.after(() => rm(ctx, { recursive: true, force: true }));
  await mkdir(join(ctx, 'manifests'), { recursive: true });
  await writeFile(
    join(ctx, 'manifests', 'loose.yaml'),
    [
      'kind: Deployment',
      'metadata: { name: a }',
      'metadata: { name: duplicate-key }',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: a',
      '          image: "docker.io/library/nginx:1.25"   # pinned',
      "        - image: 'quay.io/x/y:2'",
      '          imagePullPolicy: IfNotPresent',
      '      initContainers: [{ name: i, image: busybox:1.36 }]',
      'data:',
      '  note: "a quoted scalar',
      '    spanning lines: yes"',
      '  image: {{ .Values.image }}',
      '  sandbox_image: registry.k8s.io/pause:3.9',
      '  image: |',
      '    not a reference',
      '# image: commented/out:1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(await collectImageList(ctx), [
    'docker.io/library/nginx:1.25',
    'quay.io/x/y:2',
    'busybox:1.36',
    'registry.k8s.io/pause:3.9',
  ]);
  await writeFile(
    join(ctx, 'manifests', 'zz-bad.yml'),
    'kind: Pod\nspec:\n  containers:\n  - image: Not/A Valid:ref\n',
  );
  await assert.rejects(collectImageList(ctx), (err: Error & { exitCode?: number }) => {
    assert.match(err.message, /^manifests\/zz-bad\.yml:4: invalid image reference "Not\/AValid:ref"/);
    assert.equal(err.exitCode, 3);
    return true;
  });
});

// Charts under charts/ give their images without helm (berth renders them), the same set helm's
// `template` gives when helm is installed; an unsupported function names chart, template and function.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderChart } from '../../src/image/chart/render.js';
import { collectImageList, imagesInYaml } from '../../src/image/image-list.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/charts', import.meta.url));
const expected = [
  'registry.example.com/team/web:2.4.1',
  'registry.example.com/team/sidecar:1.0',
  'registry.example.com/library/redis:7.2',
];

function hasHelm(): boolean {
  try {
    execFileSync('helm', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('berth renders a chart as helm template does: values, subcharts, globals, include, tpl, required', async () => {
  const text = await renderChart('web', join(fixtures, 'web'));
  assert.deepEqual(imagesInYaml(text, 'charts/web (rendered)'), expected);
  assert.match(text, /name: web-web\n/);
  assert.match(text, /app\.kubernetes\.io\/version: "2\.4\.1"/);
  assert.match(text, /replicas: 2\n/);
  assert.match(text, /settings\.yaml: \|\n {4}kube: "1"\n {4}replicas: 2\n/);
  assert.doesNotMatch(text, /exporter|Thank you/);
});

test('a build context with charts/ lists the chart images when helm is not installed', {
  skip: hasHelm() && 'helm is installed: its output is used',
}, async (t) => {
  const ctx = await mkdtemp(join(tmpdir(), 't-chart-'));
  t.after(() => rm(ctx, { recursive: true, force: true }));
  await cp(join(fixtures, 'web'), join(ctx, 'charts', 'web'), { recursive: true });
  assert.deepEqual(await collectImageList(ctx), expected);
});

test('helm template and berth give the same image set on the charts the tests carry', {
  skip: !hasHelm() && 'helm is not installed',
}, async () => {
  const helm = execFileSync('helm', ['template', 'web', join(fixtures, 'web')], { encoding: 'utf8' });
  const ours = await renderChart('web', join(fixtures, 'web'));
  assert.deepEqual(
    [...new Set(imagesInYaml(ours, 'berth'))].sort(),
    [...new Set(imagesInYaml(helm, 'helm'))].sort(),
  );
});

test('a function berth does not provide is an error naming chart, template and function', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-chart-bad-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: 0.1.0\n');
  await writeFile(
    join(dir, 'templates', 'secret.yaml'),
    'kind: Secret\ndata:\n  pw: {{ randAlphaNum 10 }}\n',
  );
  await assert.rejects(renderChart('bad', dir), (err: Error & { exitCode?: number }) => {
    assert.match(
      err.message,
      /^charts\/bad \(template bad\/templates\/secret\.yaml:3\): function "randAlphaNum" is not one berth provides for charts; install helm/,
    );
    assert.equal(err.exitCode, 3);
    return true;
  });
});

test('template sets: define, template with a pipeline, block with its default body', async () => {
  const { parseSet } = await import('../../src/image/template/parser.js');
  const { execute } = await import('../../src/image/template/execute.js');
  const { toValue } = await import('../../src/image/chart/helm-functions.js');
  const set = parseSet(
    '{{define "a"}}[{{.}}]{{end}}{{template "a" "x"}}{{block "b" .n}}<{{.}}>{{end}}',
    () => true,
  );
  assert.equal(execute(set.root, toValue({ n: 'y' }), { templates: set.defines }), '[x]<y>');
});

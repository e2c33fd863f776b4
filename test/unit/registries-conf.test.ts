// registries.conf resolution: longest prefix, wildcard hosts, location rewriting, mirror order and
// digest-only mirrors, search registries for unqualified names, drop-in files replacing a prefix.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRegistriesConf, pullSources } from '../../src/image/registry/registries-conf.js';

test('pull sources follow registries.conf as containers/image does', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 't-regconf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'registries.conf');
  await writeFile(
    file,
    `
unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "mirror.local:5000"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "docker.io/team/special"
location = "internal.example/mirrored/special"

[[registry]]
prefix = "*.corp.example"
insecure = true
[[registry.mirror]]
location = "cache.corp.example:8080"
insecure = true
`,
  );
  const conf = await loadRegistriesConf(file);
  const show = (text: string) =>
    pullSources(conf, text).map((s) => `${s.registry}/${s.repository}${s.insecure ? ' (insecure)' : ''}`);
  assert.deepEqual(show('docker.io/library/nginx:1'), [
    'mirror.local:5000/library/nginx',
    'docker.io/library/nginx',
  ]);
  assert.deepEqual(show(`nginx@sha256:${'a'.repeat(64)}`), [
    'quay.io/nginx',
    'mirror.local:5000/library/nginx',
    'digests.local/library/nginx',
    'docker.io/library/nginx',
  ]);
  assert.deepEqual(show('docker.io/team/special/tool:2'), ['internal.example/mirrored/special/tool']);
  assert.deepEqual(show('registry.corp.example/x/y:1'), [
    'cache.corp.example:8080/x/y (insecure)',
    'registry.corp.example/x/y (insecure)',
  ]);
  assert.deepEqual(show('ghcr.io/o/r:1'), ['ghcr.io/o/r']);
});

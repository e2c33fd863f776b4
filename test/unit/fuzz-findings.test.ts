// Inputs the property tests (fuzz.test.ts) once found crashing berth with an internal error, kept as
// plain cases so that each stays fixed whatever seed a later run draws.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MockAgent } from 'undici';
import { parseClusterfile } from '../../src/clusterfile/load.js';
import { applyConfigPatch } from '../../src/clusterfile/patch.js';
import { Authenticator } from '../../src/image/registry/auth.js';
import type { FetchedManifest, RegistryClient } from '../../src/image/registry/client.js';
import { lookupCredentials } from '../../src/image/registry/credentials.js';
import { fetchImageTree } from '../../src/image/registry/tree.js';
import { formatKnownHosts, parseKnownHosts } from '../../src/ssh/known-hosts.js';
import { InputError, RegistryError } from '../../src/util/errors.js';
import type { FuzzTarget } from '../fuzz/property.js';
import { fuzzTargets } from '../fuzz/targets.js';

function tokenService(body: string): MockAgent {
  const mock = new MockAgent();
  mock.disableNetConnect();
  mock
    .get('http://127.0.0.1:1')
    .intercept({ path: () => true })
    .reply(200, body)
    .persist();
  return mock;
}

test('a bearer realm that is not an http(s) URL is a registry error', async () => {
  const mock = tokenService('{"token":"t"}');
  const auth = new Authenticator(
    'r.test',
    async () => undefined,
    async () => mock,
  );
  await assert.rejects(auth.onChallenge('Bearer realm="::"', [], false), RegistryError);
  await mock.close();
});

test('a token answer of JSON null is a registry error', async () => {
  const mock = tokenService('null');
  const auth = new Authenticator(
    'r.test',
    async () => undefined,
    async () => mock,
  );
  await assert.rejects(
    auth.onChallenge('Bearer realm="http://127.0.0.1:1/token"', [], false),
    /did not answer a JSON object/,
  );
  await mock.close();
});

test('a docker config auth that is not a string names the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, '{"auths":{"r.test":{"auth":1}}}');
    await assert.rejects(
      lookupCredentials('r.test', file),
      (e: unknown) => e instanceof InputError && /auths\["r.test"\]\.auth is not a string/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a known_hosts line whose key is not base64 is kept verbatim, not turned into an empty key', () => {
  const text = '10.0.0.1 ssh-ed25519 !\n';
  const parsed = parseKnownHosts(text);
  assert.equal(parsed.entries.length, 0);
  assert.equal(formatKnownHosts(parsed.entries, parsed.otherLines), text);
});

test('a manifest that is not JSON, or JSON null, is a registry error', async () => {
  for (const text of ['', 'null', '[]', '{"manifests":null}']) {
    const client = {
      registry: 'r.test',
      getManifest: async (): Promise<FetchedManifest> => ({
        bytes: Buffer.from(text),
        mediaType: text.includes('manifests') ? 'application/vnd.oci.image.index.v1+json' : '',
        digest: 'sha256:0',
      }),
    } as unknown as RegistryClient;
    await assert.rejects(fetchImageTree(client, 'a/b', 'latest', { all: true }), RegistryError, text);
  }
});

test('a whiteout naming its own directory or parent is refused, and nothing outside the root goes', async () => {
  const target = fuzzTargets.find((t) => t.name === 'tar layer') as FuzzTarget<{ entries: unknown[] }>;
  await target.setup?.();
  try {
    for (const name of ['.wh...', 'a/.wh..', '.wh.']) {
      const entries = [
        { name: 'a/', type: 'directory', linkname: '', mode: 0o755, data: new Uint8Array() },
        { name, type: 'file', linkname: '', mode: 0o644, data: new Uint8Array() },
      ];
      await assert.rejects(async () => target.run({ entries }), /is a whiteout of no file/, name);
    }
  } finally {
    await target.teardown?.();
  }
});

test('a Kubefile line that is only a continuation into comments is no instruction', async () => {
  const target = fuzzTargets.find((t) => t.name === 'Kubefile (build)') as FuzzTarget<string>;
  await target.setup?.();
  try {
    // it has no FROM left, which is the error a user should see
    await assert.rejects(async () => target.run('\\\n# escape=`'), /no FROM instruction/);
  } finally {
    await target.teardown?.();
  }
});

test('a YAML alias that names no anchor is an input error in a Clusterfile and in a Config patch', () => {
  const cluster = 'apiVersion: apps.sealos.io/v1beta1\nkind: *Cluster\n';
  assert.throws(
    () => parseClusterfile(cluster, 'Clusterfile'),
    (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /^Clusterfile: YAML: Unresolved alias/);
      return true;
    },
  );
  assert.throws(
    () => applyConfigPatch('a: 1\n', { path: 'etc/x.yaml', data: 'a: *none\n', strategy: 'merge' }),
    /the Config patch for etc\/x.yaml: YAML: Unresolved alias/,
  );
});

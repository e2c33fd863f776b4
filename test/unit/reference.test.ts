import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  familiarName,
  formatReference,
  mirrorRepository,
  parseReference,
} from '../../src/image/reference.js';

test('references are normalised as docker does', () => {
  assert.deepEqual(parseReference('nginx'), {
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: 'latest',
    digest: undefined,
  });
  const k = parseReference('registry.k8s.io/pause:3.9');
  assert.equal(k.registry, 'registry.k8s.io');
  assert.equal(k.repository, 'pause');
  assert.equal(k.tag, '3.9');
  const local = parseReference('localhost:5000/a/b@sha256:' + 'a'.repeat(64));
  assert.equal(local.registry, 'localhost:5000');
  assert.equal(local.tag, undefined);
  assert.equal(
    formatReference(parseReference('labring/kubernetes:v1.27.7')),
    'docker.io/labring/kubernetes:v1.27.7',
  );
  assert.equal(familiarName(parseReference('docker.io/library/nginx:1.25')), 'nginx:1.25');
  assert.equal(familiarName(parseReference('127.0.0.1:5000/x/y:1')), '127.0.0.1:5000/x/y:1');
});

test('mirror repositories drop the source registry', () => {
  assert.equal(mirrorRepository(parseReference('registry.k8s.io/pause:3.9')), 'pause');
  assert.equal(mirrorRepository(parseReference('docker.io/nginx')), 'library/nginx');
  assert.equal(mirrorRepository(parseReference('quay.io/cilium/cilium:v1')), 'cilium/cilium');
});

test('bad references are usage errors', () => {
  assert.throws(() => parseReference('UPPER/case'), /invalid image reference/);
  assert.throws(() => parseReference('a b'), /invalid image reference/);
  assert.throws(() => parseReference('x@sha256:zz'), /digest/);
});

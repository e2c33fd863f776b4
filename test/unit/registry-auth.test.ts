import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseChallenges } from '../../src/image/registry/challenge.js';
import {
  lookupCredentials,
  removeCredentials,
  storeCredentials,
} from '../../src/image/registry/credentials.js';
import { allowsPlainHttp, isNamedInsecure } from '../../src/image/registry/transport.js';

test('challenges: quoted commas stay inside their parameter; several challenges in one header', () => {
  const got = parseChallenges(
    'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push repository:c:pull", Basic realm="x, y"',
  );
  assert.deepEqual(got, [
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:a/b:pull,push repository:c:pull',
      },
    },
    { scheme: 'basic', params: { realm: 'x, y' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="a \\"q\\""'), [
    { scheme: 'basic', params: { realm: 'a "q"' } },
  ]);
});

test('credentials: credHelpers beat credsStore beat auths; store writes mode 0600; logout removes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 't-cred-'));
  const oldPath = process.env.PATH;
  t.after(() => {
    process.env.PATH = oldPath;
    rmSync(dir, { recursive: true, force: true });
  });
  // Stand-in credential helpers: each answers with its own name as the user.
  for (const name of ['t-helper', 't-store']) {
    const script = join(dir, `docker-credential-${name}`);
    writeFileSync(
      script,
      `#!/bin/sh\nread host\n[ "$1" = get ] || exit 1\ncase "$host" in *nohelper*) echo "credentials not found"; exit 1;; esac\necho '{"ServerURL":"'$host'","Username":"${name}","Secret":"s3cret-${name}"}'\n`,
    );
    chmodSync(script, 0o755);
  }
  process.env.PATH = `${dir}:${oldPath}`;
  const file = join(dir, 'config.json');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  writeFileSync(
    file,
    JSON.stringify({
      auths: {
        'https://reg.example.com': { auth: b64('plain:pw1') },
        'nohelper.example.com': { auth: b64('plain2:pw2') },
        'https://index.docker.io/v1/': { identitytoken: 'tok-123' },
      },
      credsStore: 't-store',
      credHelpers: { 'special.example.com:5000': 't-helper' },
    }),
  );
  assert.deepEqual(await lookupCredentials('special.example.com:5000', file), {
    username: 't-helper',
    password: 's3cret-t-helper',
  });
  assert.deepEqual(await lookupCredentials('reg.example.com', file), {
    username: 't-store',
    password: 's3cret-t-store',
  });
  // The store has nothing for this host: auths answers.
  assert.deepEqual(await lookupCredentials('nohelper.example.com', file), {
    username: 'plain2',
    password: 'pw2',
  });

  const plain = join(dir, 'plain.json');
  writeFileSync(
    plain,
    JSON.stringify({ auths: { 'https://index.docker.io/v1/': { identitytoken: 'tok-123' } } }),
  );
  assert.deepEqual(await lookupCredentials('docker.io', plain), { identityToken: 'tok-123' });
  await storeCredentials('localhost:5000', { username: 'u', password: 'p' }, plain);
  assert.equal(statSync(plain).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(plain, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(saved.auths['localhost:5000']?.auth, b64('u:p'));
  assert.deepEqual(await lookupCredentials('localhost:5000', plain), { username: 'u', password: 'p' });
  assert.equal(await removeCredentials('localhost:5000', plain), true);
  assert.equal(await lookupCredentials('localhost:5000', plain), undefined);
  assert.equal(await removeCredentials('localhost:5000', plain), false);
});

test('plain HTTP only for loopback and named insecure registries', () => {
  assert.equal(allowsPlainHttp('127.0.0.1:5000', {}), true);
  assert.equal(allowsPlainHttp('localhost', {}), true);
  assert.equal(allowsPlainHttp('[::1]:5000', {}), true);
  assert.equal(allowsPlainHttp('reg.example.com:5000', {}), false);
  assert.equal(
    allowsPlainHttp('reg.example.com:5000', { insecureRegistries: ['reg.example.com:5000'] }),
    true,
  );
  assert.equal(isNamedInsecure('127.0.0.1:5000', {}), false, 'loopback HTTPS is still verified');
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/util/errors.js';
import { decryptSecret, encryptSecret, isEncrypted } from '../../src/util/secrets.js';
import { testDir } from '../helpers/test-dir.js';

test('secrets round-trip and the key file is private', (t) => {
  const home = testDir(t, 'berth-secrets-');
  process.env.BERTH_HOME = home;
  const enc = encryptSecret('s3cret-pass');
  assert.ok(isEncrypted(enc));
  assert.ok(!enc.includes('s3cret-pass'));
  assert.equal(decryptSecret(enc), 's3cret-pass');
  assert.notEqual(encryptSecret('s3cret-pass'), enc, 'a fresh IV each time');
  assert.equal(statSync(join(home, 'secret.key')).mode & 0o777, 0o600);
  assert.equal(Buffer.from(readFileSync(join(home, 'secret.key'), 'utf8'), 'base64').length, 32);
});

function withEnv(env: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('BERTH_PASSPHRASE keeps the key off the disk; a wrong one is one line and changes nothing', (t) => {
  const home = testDir(t, 'berth-secrets-pass-');
  withEnv({ BERTH_HOME: home, BERTH_PASSPHRASE: 'correct horse', BERTH_SECRET_KEY_FILE: undefined }, () => {
    const enc = encryptSecret('marker-pass-1');
    assert.equal(decryptSecret(enc), 'marker-pass-1');
    assert.ok(!existsSync(join(home, 'secret.key')), 'no key file on disk');
    const check = readFileSync(join(home, 'secret.check'), 'utf8');
    assert.equal(statSync(join(home, 'secret.check')).mode & 0o777, 0o600);
    withEnv({ BERTH_PASSPHRASE: 'wrong horse' }, () => {
      assert.throws(
        () => encryptSecret('x'),
        (e: unknown) =>
          e instanceof InputError &&
          /BERTH_PASSPHRASE does not open the secrets in .* \(wrong passphrase\?\); nothing was changed/.test(
            e.message,
          ) &&
          !e.message.includes('\n'),
      );
    });
    assert.equal(readFileSync(join(home, 'secret.check'), 'utf8'), check, 'the check file is untouched');
    assert.equal(decryptSecret(enc), 'marker-pass-1', 'the right passphrase still opens it');
    withEnv({ BERTH_PASSPHRASE: undefined }, () => {
      assert.throws(
        () => decryptSecret(enc),
        /sealed with a passphrase \(BERTH_PASSPHRASE\), not the local key/,
      );
    });
  });
});

test('BERTH_SECRET_KEY_FILE names the key; a missing or other key is refused', (t) => {
  const home = testDir(t, 'berth-secrets-file-');
  // the key lives outside BERTH_HOME, as a user's would
  const keyFile = join(testDir(t, 'berth-secrets-key-'), 'key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'));
  withEnv({ BERTH_HOME: home, BERTH_PASSPHRASE: undefined, BERTH_SECRET_KEY_FILE: keyFile }, () => {
    const enc = encryptSecret('marker-key-1');
    assert.equal(decryptSecret(enc), 'marker-key-1');
    assert.ok(!existsSync(join(home, 'secret.key')));
    const other = `${keyFile}-other`;
    writeFileSync(other, randomBytes(32));
    withEnv({ BERTH_SECRET_KEY_FILE: other }, () => {
      assert.throws(
        () => decryptSecret(enc),
        /is not the key the secrets in .* are sealed with; nothing was changed/,
      );
    });
    withEnv({ BERTH_SECRET_KEY_FILE: `${keyFile}-missing` }, () => {
      assert.throws(() => encryptSecret('x'), /no such file \(make one with: head -c 32 \/dev\/urandom/);
    });
  });
});

test('secrets sealed with the local key before the check file existed are not resealed by a passphrase', (t) => {
  const home = testDir(t, 'berth-secrets-old-');
  writeFileSync(join(home, 'secret.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
  withEnv({ BERTH_HOME: home, BERTH_PASSPHRASE: 'p', BERTH_SECRET_KEY_FILE: undefined }, () => {
    assert.throws(() => encryptSecret('x'), /sealed with the local key .*secret\.key, not a passphrase/);
  });
});

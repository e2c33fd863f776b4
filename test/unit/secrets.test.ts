import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decryptSecret, encryptSecret, isEncrypted } from '../../src/util/secrets.js';

test('secrets round-trip and the key file is private', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-secrets-'));
  process.env.BERTH_HOME = home;
  const enc = encryptSecret('s3cret-pass');
  assert.ok(isEncrypted(enc));
  assert.ok(!enc.includes('s3cret-pass'));
  assert.equal(decryptSecret(enc), 's3cret-pass');
  assert.notEqual(encryptSecret('s3cret-pass'), enc, 'a fresh IV each time');
  assert.equal(statSync(join(home, 'secret.key')).mode & 0o777, 0o600);
  assert.equal(Buffer.from(readFileSync(join(home, 'secret.key'), 'utf8'), 'base64').length, 32);
});

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.js';
import { berthPath } from './paths.js';

// Secrets that berth must keep (sandbox passwords, join tokens, registry passwords) are stored encrypted
// with a per-user key kept beside them with mode 0600, so that state files can be read, copied and
// attached to bug reports without leaking credentials.

const PREFIX = 'enc:v1:';
let cachedKey: { path: string; key: Buffer } | undefined;

function keyPath(): string {
  return berthPath('secret.key');
}

function loadKey(): Buffer {
  const path = keyPath();
  if (cachedKey?.path === path) return cachedKey.key;
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      // Another berth process created it first; use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  }
  if (key.length !== 32) throw new InputError(`${path}: not a berth secret key (expected 32 bytes, base64)`);
  cachedKey = { path, key };
  return key;
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function encryptSecret(plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', loadKey(), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function decryptSecret(value: string): string {
  if (!isEncrypted(value)) return value;
  const raw = Buffer.from(value.slice(PREFIX.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', loadKey(), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new InputError(`a stored secret cannot be decrypted with ${keyPath()}: was the key replaced?`);
  }
}

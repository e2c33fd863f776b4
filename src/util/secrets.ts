import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.js';
import { berthPath } from './paths.js';

// Secrets that berth must keep (sandbox passwords, join tokens, registry passwords, driver state) are
// stored encrypted, so that state files can be read, copied and attached to bug reports without leaking
// credentials. The key is, in order of preference: derived with scrypt from BERTH_PASSPHRASE, read from
// the file BERTH_SECRET_KEY_FILE names (both keep it off berth's disk), or a per-user key kept in
// BERTH_HOME/secret.key with mode 0600. BERTH_HOME/secret.check records which of these sealed the secrets
// there, with a value sealed by it, so a wrong passphrase or key is refused before anything new is sealed
// with it (a mix of keys would lose the older secrets).

const PREFIX = 'enc:v1:';
const checkPlain = 'berth secret check v1';

type KeySource =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'key-file'; path: string }
  | { kind: 'local'; path: string };

interface CheckRecord {
  source: KeySource['kind'];
  /** scrypt salt, base64 (passphrase only). */
  salt?: string;
  check: string;
}

let cached: { id: string; key: Buffer } | undefined;

function keySource(): KeySource {
  const passphrase = process.env.BERTH_PASSPHRASE;
  if (passphrase) return { kind: 'passphrase', passphrase };
  const file = process.env.BERTH_SECRET_KEY_FILE;
  if (file) return { kind: 'key-file', path: file };
  return { kind: 'local', path: berthPath('secret.key') };
}

function describe(kind: KeySource['kind']): string {
  if (kind === 'passphrase') return 'a passphrase (BERTH_PASSPHRASE)';
  if (kind === 'key-file') return 'a key file (BERTH_SECRET_KEY_FILE)';
  return `the local key ${berthPath('secret.key')}`;
}

function keyName(source: KeySource): string {
  if (source.kind === 'passphrase') return 'BERTH_PASSPHRASE';
  if (source.kind === 'key-file') return `BERTH_SECRET_KEY_FILE=${source.path}`;
  return source.path;
}

function checkPath(): string {
  return berthPath('secret.check');
}

function readCheck(): CheckRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(checkPath(), 'utf8')) as CheckRecord;
    if (typeof rec.check === 'string' && ['passphrase', 'key-file', 'local'].includes(rec.source)) return rec;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  throw new InputError(`${checkPath()}: not a berth secret check file; restore it or remove it`);
}

/** 32 bytes, written as base64 (as berth writes secret.key) or raw. */
function parseKey(bytes: Buffer, path: string): Buffer {
  if (bytes.length === 32) return bytes;
  const key = Buffer.from(bytes.toString('utf8').trim(), 'base64');
  if (key.length !== 32)
    throw new InputError(
      `${path}: not a berth secret key (want 32 bytes, raw or base64; make one with: head -c 32 /dev/urandom | base64 > ${path})`,
    );
  return key;
}

function readKeyFile(path: string): Buffer {
  try {
    return parseKey(readFileSync(path), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InputError(
        `BERTH_SECRET_KEY_FILE=${path}: no such file (make one with: head -c 32 /dev/urandom | base64 > ${path})`,
      );
    throw err;
  }
}

function localKey(path: string): Buffer {
  try {
    return parseKey(readFileSync(path), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another berth process created it first; use theirs.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return parseKey(readFileSync(path), path);
}

function deriveKey(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

function seal(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function open(key: Buffer, value: string): string | undefined {
  const raw = Buffer.from(value.slice(PREFIX.length), 'base64');
  if (raw.length < 28) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Creates the check file unless another process got there first (then theirs is returned): written aside
 * and linked into place, so that it appears whole or not at all.
 */
function createCheck(record: CheckRecord): CheckRecord | undefined {
  mkdirSync(berthPath(), { recursive: true, mode: 0o700 });
  const tmp = `${checkPath()}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, checkPath());
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readCheck();
  } finally {
    rmSync(tmp, { force: true });
  }
}

function loadKey(): Buffer {
  const source = keySource();
  const id = JSON.stringify([berthPath(), source]);
  if (cached?.id === id) return cached.key;
  let rec = readCheck();
  const local = berthPath('secret.key');
  if (!rec && source.kind !== 'local' && existsSync(local)) {
    // Secrets sealed before the check file existed were sealed with the local key.
    const key = localKey(local);
    rec = createCheck({ source: 'local', check: seal(key, checkPlain) }) ?? readCheck();
  }
  if (rec && rec.source !== source.kind)
    throw new InputError(
      `the secrets in ${berthPath()} are sealed with ${describe(rec.source)}, not ${describe(source.kind)}: ` +
        'use that one again',
    );
  let key: Buffer;
  let salt: Buffer | undefined;
  if (source.kind === 'passphrase') {
    salt = rec?.salt ? Buffer.from(rec.salt, 'base64') : randomBytes(16);
    key = deriveKey(source.passphrase, salt);
  } else if (source.kind === 'key-file') {
    key = readKeyFile(source.path);
  } else {
    key = localKey(source.path);
  }
  if (rec) {
    if (open(key, rec.check) !== checkPlain) {
      throw new InputError(
        source.kind === 'passphrase'
          ? `BERTH_PASSPHRASE does not open the secrets in ${berthPath()} (wrong passphrase?); nothing was changed`
          : source.kind === 'key-file'
            ? `BERTH_SECRET_KEY_FILE=${source.path} is not the key the secrets in ${berthPath()} are sealed with; nothing was changed`
            : `${source.path} is not the key the secrets in ${berthPath()} are sealed with: was it replaced?`,
      );
    }
  } else {
    const record: CheckRecord = { source: source.kind, check: seal(key, checkPlain) };
    if (salt) record.salt = salt.toString('base64');
    // Another process sealed first (with its own salt): start again from its record.
    if (createCheck(record)) return loadKey();
  }
  cached = { id, key };
  return key;
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function encryptSecret(plain: string): string {
  return seal(loadKey(), plain);
}

export function decryptSecret(value: string): string {
  if (!isEncrypted(value)) return value;
  const plain = open(loadKey(), value);
  if (plain === undefined)
    throw new InputError(
      `a stored secret cannot be decrypted with ${keyName(keySource())}: was the key replaced?`,
    );
  return plain;
}

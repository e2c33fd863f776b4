// k3s token forms (pkg/clientaccess): K10<sha256 of server-ca.crt>::<user>:<password>, bare passwords and
// kubeadm-style bootstrap tokens.
import { createHash, randomBytes } from 'node:crypto';

export interface ClusterToken {
  caHash: string;
  username: string;
  password: string;
}

const bootstrapRe = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

export function randomSecret(): string {
  return randomBytes(16).toString('hex');
}

export function caHashOf(caPem: string | Buffer): string {
  return createHash('sha256').update(caPem).digest('hex');
}

export function parseClusterToken(input: string): ClusterToken {
  if (!input) throw new Error('token must not be empty');
  let token = input;
  if (!token.startsWith('K10')) token = bootstrapRe.test(token) ? `K10::${token}` : `K10:::${token}`;
  const body = token.slice(3);
  const at = body.indexOf('::');
  if (at < 0) throw new Error('invalid token format');
  const caHash = body.slice(0, at);
  const creds = body.slice(at + 2);
  if (caHash.length !== 0 && caHash.length !== 64) throw new Error('invalid token CA hash length');
  const colon = creds.indexOf(':');
  if (colon >= 0) return { caHash, username: creds.slice(0, colon), password: creds.slice(colon + 1) };
  if (bootstrapRe.test(creds)) return { caHash, username: '', password: creds };
  throw new Error('invalid token format');
}

export function formatClusterToken(caHash: string, username: string, password: string): string {
  return `K10${caHash}::${username}:${password}`;
}

/** A kubeadm-style bootstrap token, which is what `k3s token generate` prints. */
export function generateBootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

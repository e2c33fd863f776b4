// Bootstrap tokens as Kubernetes keeps them (kube-system Secrets of type bootstrap.kubernetes.io/token) and
// the checks every party makes on them: kubeadm creating and listing tokens, the API server authenticating a
// bearer token, the bootstrap signer signing kube-public/cluster-info for each token, and a joining node
// verifying that signature. Shared so the kubeadm, kubelet and API server stand-ins judge a token alike.
import { createHash, createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { ApiUser } from './api-server.js';
import type { KubeObject } from './kube-object.js';

export const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const DEFAULT_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
/** The key of cluster-info's data holding the JWS of its kubeconfig for one token id. */
export const jwsKey = (tokenId: string) => `jws-kubeconfig-${tokenId}`;
export const tokenSecretName = (tokenId: string) => `bootstrap-token-${tokenId}`;

export interface BootstrapToken {
  id: string;
  secret: string;
  description?: string;
  /** Absent: the token never expires. */
  expires?: Date;
  usages: string[];
  groups: string[];
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomChars(n: number): string {
  const bytes = randomBytes(n * 2);
  let out = '';
  for (let i = 0; out.length < n && i < bytes.length; i++) {
    // 252 is the largest multiple of 36 below 256: higher bytes would bias the draw
    if (bytes[i] < 252) out += ALPHABET[bytes[i] % 36];
  }
  return out.length === n ? out : randomChars(n);
}

export function generateToken(): string {
  return `${randomChars(6)}.${randomChars(16)}`;
}

export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined);

/** The Secret `kubeadm token create` and `init` store. */
export function tokenSecret(t: BootstrapToken): KubeObject {
  const data: Record<string, string> = { 'token-id': b64(t.id), 'token-secret': b64(t.secret) };
  if (t.description) data.description = b64(t.description);
  if (t.expires) data.expiration = b64(t.expires.toISOString().replace(/\.\d+Z$/, 'Z'));
  for (const u of t.usages) data[`usage-bootstrap-${u}`] = b64('true');
  if (t.groups.length) data['auth-extra-groups'] = b64(t.groups.join(','));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: tokenSecretName(t.id), namespace: 'kube-system' },
    type: TOKEN_SECRET_TYPE,
    data,
  };
}

/** The token a Secret holds, or undefined when it is not a well-formed bootstrap token Secret. */
export function tokenFromSecret(secret: KubeObject): BootstrapToken | undefined {
  if (secret.type !== TOKEN_SECRET_TYPE) return undefined;
  const data: Record<string, unknown> = secret.data ?? {};
  const id = unb64(data['token-id']);
  const tokenSecretValue = unb64(data['token-secret']);
  if (!id || !tokenSecretValue || secret.metadata?.name !== tokenSecretName(id)) return undefined;
  const expiration = unb64(data.expiration);
  const usages = Object.keys(data)
    .filter((k) => k.startsWith('usage-bootstrap-') && unb64(data[k]) === 'true')
    .map((k) => k.slice('usage-bootstrap-'.length))
    .sort();
  const groups = (unb64(data['auth-extra-groups']) ?? '').split(',').filter(Boolean);
  const description = unb64(data.description);
  return {
    id,
    secret: tokenSecretValue,
    usages,
    groups,
    ...(description ? { description } : {}),
    ...(expiration ? { expires: new Date(expiration) } : {}),
  };
}

export const isExpired = (t: BootstrapToken, now = Date.now()) =>
  t.expires !== undefined && !(t.expires.getTime() > now);

/**
 * The API server's bootstrap token authenticator: a bearer `id.secret` matching an unexpired Secret with
 * the authentication usage is user `system:bootstrap:<id>` in `system:bootstrappers` and its extra groups.
 */
export function authenticateBootstrapToken(bearer: string, secrets: KubeObject[]): ApiUser | undefined {
  const parsed = parseToken(bearer);
  if (!parsed) return undefined;
  const secret = secrets.find((s) => s.metadata?.name === tokenSecretName(parsed.id));
  const t = secret && tokenFromSecret(secret);
  if (!t || isExpired(t) || !t.usages.includes('authentication')) return undefined;
  const a = Buffer.from(t.secret);
  const b = Buffer.from(parsed.secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  // kube-apiserver takes only extra groups of the system:bootstrappers: family from a token
  const extra = t.groups.filter((g) => g.startsWith('system:bootstrappers:'));
  return {
    name: `system:bootstrap:${t.id}`,
    groups: ['system:bootstrappers', ...extra, 'system:authenticated'],
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A detached JWS (HS256, the token secret as key, its id as kid) over `content`: `header..signature`. */
export function detachedJws(content: string, tokenId: string, secret: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: tokenId }));
  const mac = createHmac('sha256', secret)
    .update(`${header}.${b64url(content)}`)
    .digest();
  return `${header}..${b64url(mac)}`;
}

export function verifyDetachedJws(jws: string, content: string, tokenId: string, secret: string): boolean {
  const [header, payload, sig] = jws.split('.');
  if (payload !== '' || !header || !sig) return false;
  let parsed: { alg?: string; kid?: string };
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  if (parsed.alg !== 'HS256' || parsed.kid !== tokenId) return false;
  const want = createHmac('sha256', secret)
    .update(`${header}.${b64url(content)}`)
    .digest();
  const got = Buffer.from(sig, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** What the bootstrap signer keeps in cluster-info: one JWS per unexpired token with the signing usage. */
export function signedClusterInfoData(kubeconfig: string, secrets: KubeObject[]): Record<string, string> {
  const data: Record<string, string> = { kubeconfig };
  for (const s of secrets) {
    const t = tokenFromSecret(s);
    if (t && !isExpired(t) && t.usages.includes('signing'))
      data[jwsKey(t.id)] = detachedJws(kubeconfig, t.id, t.secret);
  }
  return data;
}

/** kubeadm's discovery hash: sha256 over the DER SubjectPublicKeyInfo of the CA certificate. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

import { type Dispatcher, request } from 'undici';
import { RegistryError } from '../../util/errors.js';
import { registerSecret } from '../../util/log.js';
import { type Challenge, parseChallenges } from './challenge.js';
import type { Credentials } from './credentials.js';

// Per-registry authorization state: which scheme the registry asked for and the bearer tokens already
// obtained, one per set of scopes, kept until shortly before they expire.

interface Token {
  value: string;
  expiresAt: number;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

interface TokenReply {
  token?: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
  refresh_token?: string;
}

/** The token service's JSON answer, with every field of the wrong type dropped; undefined if not an object. */
function tokenReply(text: string): TokenReply | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    token: str(r.token),
    access_token: str(r.access_token),
    expires_in: typeof r.expires_in === 'number' && Number.isFinite(r.expires_in) ? r.expires_in : undefined,
    issued_at: str(r.issued_at),
    refresh_token: str(r.refresh_token),
  };
}

function scopeKey(scopes: string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

export class Authenticator {
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private realm = '';
  private service = '';
  private readonly tokens = new Map<string, Token>();
  private refreshToken: string | undefined;
  private credentials: Credentials | undefined;
  private credentialsLoaded = false;

  constructor(
    private readonly host: string,
    private readonly loadCredentials: () => Promise<Credentials | undefined>,
    private readonly dispatcher: () => Promise<Dispatcher>,
  ) {}

  private async creds(): Promise<Credentials | undefined> {
    if (!this.credentialsLoaded) {
      this.credentials = await this.loadCredentials();
      this.credentialsLoaded = true;
      this.refreshToken = this.credentials?.identityToken;
    }
    return this.credentials;
  }

  private basicHeader(c: Credentials): string {
    return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
  }

  /** The Authorization header for a request needing `scopes`, from what is known so far. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (this.scheme === 'basic') {
      const c = await this.creds();
      return c?.username !== undefined ? this.basicHeader(c) : undefined;
    }
    if (this.scheme === 'bearer') {
      const token = await this.token(scopes);
      return `Bearer ${token}`;
    }
    return undefined;
  }

  /**
   * Learns from a 401's WWW-Authenticate header. Returns true when a retry with a new header can succeed.
   * Any request may be challenged, so this runs wherever a 401 comes back.
   */
  async onChallenge(
    wwwAuthenticate: string | undefined,
    scopes: string[],
    hadHeader: boolean,
  ): Promise<boolean> {
    const challenges = parseChallenges(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) return this.onBearer(bearer, scopes, hadHeader);
    if (basic) {
      const c = await this.creds();
      if (!c?.username)
        throw new RegistryError(`${this.host}: authentication required: run "berth login ${this.host}"`);
      if (this.scheme === 'basic' && hadHeader)
        throw new RegistryError(`${this.host}: credentials rejected: run "berth login ${this.host}" again`);
      this.scheme = 'basic';
      return true;
    }
    throw new RegistryError(`${this.host}: unauthorized, and the registry named no usable auth scheme`);
  }

  private async onBearer(ch: Challenge, scopes: string[], hadHeader: boolean): Promise<boolean> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError(`${this.host}: bearer challenge without a realm`);
    if (!/^https?:$/.test(URL.canParse(realm) ? new URL(realm).protocol : ''))
      throw new RegistryError(`${this.host}: bearer challenge whose realm "${realm}" is not an http(s) URL`);
    const extra = ch.params.scope ? ch.params.scope.split(' ') : [];
    const wanted = [...scopes, ...extra];
    const key = scopeKey(wanted);
    if (
      this.scheme === 'bearer' &&
      hadHeader &&
      this.tokens.has(key) &&
      ch.params.error !== 'invalid_token'
    ) {
      // The token for exactly these scopes was refused: more tokens will not help.
      throw new RegistryError(
        `${this.host}: access denied for ${scopeKey(scopes) || 'this request'}: check "berth login ${this.host}" and the repository name`,
      );
    }
    this.scheme = 'bearer';
    this.realm = realm;
    this.service = ch.params.service ?? '';
    this.tokens.delete(key);
    await this.token(wanted);
    // Remember the token also under the caller's own scope set, which is what header() will look up.
    const got = this.tokens.get(key);
    if (got) this.tokens.set(scopeKey(scopes), got);
    return true;
  }

  private async token(scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.value;
    const c = await this.creds();
    const dispatcher = await this.dispatcher();
    const url = new URL(this.realm);
    let res: Dispatcher.ResponseData;
    if (this.refreshToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: this.refreshToken,
        service: this.service,
        client_id: 'berth',
        scope: scopeKey(scopes),
      });
      res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      if (this.service) url.searchParams.set('service', this.service);
      for (const s of new Set(scopes)) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (c?.username !== undefined) headers.authorization = this.basicHeader(c);
      res = await request(url, { method: 'GET', dispatcher, headers });
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403)
      throw new RegistryError(
        `${this.host}: the token service ${url.host} refused the credentials: run "berth login ${this.host}"`,
      );
    if (res.statusCode !== 200)
      throw new RegistryError(`${this.host}: the token service ${url.host} answered HTTP ${res.statusCode}`);
    const body = tokenReply(text);
    if (!body)
      throw new RegistryError(`${this.host}: the token service ${url.host} did not answer a JSON object`);
    const value = body.token || body.access_token;
    if (!value) throw new RegistryError(`${this.host}: the token service ${url.host} gave no token`);
    registerSecret(value);
    if (body.refresh_token) {
      registerSecret(body.refresh_token);
      this.refreshToken = body.refresh_token;
    }
    const issued = body.issued_at ? Date.parse(body.issued_at) : Date.now();
    const lifetime = (body.expires_in && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    // Renew 10 s early so that a token does not expire between header() and the server reading it.
    const expiresAt = (Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now())) + lifetime - 10_000;
    this.tokens.set(key, { value, expiresAt });
    return value;
  }

  /** True once the registry is known to want credentials and some are configured. */
  async hasCredentials(): Promise<boolean> {
    const c = await this.creds();
    return !!(c?.username || c?.identityToken);
  }
}

import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import { errorMessage, RegistryError } from '../../util/errors.js';
import { interruptSignal } from '../../util/interrupt.js';
import { sha256Digest } from '../../util/local-files.js';
import { log } from '../../util/log.js';
import { registryApiHost } from '../reference.js';
import { manifestAccept } from '../types.js';
import { Authenticator, pullScope, pushScope } from './auth.js';
import { type Credentials, lookupCredentials } from './credentials.js';
import { allowsPlainHttp, dispatcherFor, isNamedInsecure, type TransportOptions } from './transport.js';

// One registry host spoken to over the distribution API. Requests carry the scopes they need so that a
// bearer token for exactly those repositories is used; a 401 on any request is answered by
// re-authorizing once; transient failures are retried as crane does (408, 429, 499, 5xx gateways:
// back-off 1 s then 3 s, three tries).

export interface RegistryOptions extends TransportOptions {
  /** A docker config.json other than $DOCKER_CONFIG/config.json. */
  authfile?: string;
  /** Credentials to use instead of the stored ones (login verifies these). */
  credentials?: Credentials;
  /** A registries.conf to read instead of the default locations (--registries-conf). */
  registriesConf?: string;
  /** Stops requests and transfers; the process's Ctrl-C signal by default. */
  signal?: AbortSignal;
}

const retryStatuses = new Set([408, 429, 499, 500, 502, 503, 504, 522]);
const backoffMs = [1000, 3000];

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the registry root (`/v2/...`) or an absolute URL (upload Locations). */
  path: string;
  scopes: string[];
  headers?: Record<string, string>;
  /** Makes a fresh body for each try, so that retries and auth challenges can resend it. */
  body?: () => string | Buffer | Readable;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isRetryableNetworkError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CONNECT_TIMEOUT)$/.test(
    code,
  );
}

export class RegistryClient {
  /** host[:port] requests go to (Docker Hub's API host for docker.io). */
  readonly host: string;
  private base: Promise<{ origin: string; verify: boolean }> | undefined;
  readonly auth: Authenticator;
  readonly signal: AbortSignal;

  constructor(
    readonly registry: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.host = registryApiHost(registry);
    this.signal = opts.signal ?? interruptSignal();
    this.auth = new Authenticator(
      this.host,
      async () => opts.credentials ?? lookupCredentials(registry, opts.authfile),
      async () => this.dispatcher(),
    );
  }

  private async dispatcher(): Promise<Dispatcher> {
    const { verify } = await this.origin();
    return dispatcherFor(this.host, this.opts, verify);
  }

  /**
   * Finds how to reach the registry: HTTPS, then plain HTTP where transport.ts allows it. The probe is `GET /v2/`, whose 401 also teaches the auth scheme.
   */
  private origin(): Promise<{ origin: string; verify: boolean }> {
    if (!this.base) {
      this.base = (async () => {
        const insecure = allowsPlainHttp(this.host, this.opts);
        // Named insecure hosts may present any certificate; loopback hosts get verified HTTPS or plain
        // HTTP, so that a local registry with a private CA still has its certificate checked.
        const tries = [
          { origin: `https://${this.host}`, verify: !isNamedInsecure(this.host, this.opts) },
          ...(insecure ? [{ origin: `http://${this.host}`, verify: true }] : []),
        ];
        let lastErr: unknown;
        let firstErr: unknown;
        for (const t of tries) {
          try {
            const d = await dispatcherFor(this.host, this.opts, t.verify);
            const res = await request(`${t.origin}/v2/`, {
              method: 'GET',
              dispatcher: d,
              signal: this.signal,
            });
            await res.body.dump();
            // A registry answers /v2/ with 200 or 401; anything else (an HTTPS port spoken to in plain
            // HTTP answers 400) is not the API.
            if (res.statusCode === 200 || res.statusCode === 401) return t;
            lastErr = new Error(`GET ${t.origin}/v2/ answered HTTP ${res.statusCode}`);
          } catch (err) {
            this.signal.throwIfAborted();
            lastErr = err;
            firstErr ??= err;
            log.debug(`${t.origin}/v2/: ${errorMessage(err)}`);
          }
        }
        const why = errorMessage(firstErr ?? lastErr);
        const hint =
          firstErr && /certificate|self.signed|SSL|TLS/i.test(errorMessage(firstErr))
            ? ` (a private CA: --ca-file or /etc/docker/certs.d/${this.host}/ca.crt; plain HTTP: --insecure-registry ${this.host})`
            : '';
        throw new RegistryError(`${this.host}: cannot connect: ${why}${hint}`, { cause: lastErr });
      })();
      this.base.catch(() => {
        this.base = undefined;
      });
    }
    return this.base;
  }

  async url(path: string): Promise<URL> {
    const { origin } = await this.origin();
    return new URL(path, origin);
  }

  /** Sends a request with auth, challenge handling and retries. The caller reads or dumps the body. */
  async send(req: RegistryRequest): Promise<Dispatcher.ResponseData> {
    const url = await this.url(req.path);
    const dispatcher = await this.dispatcher();
    let challenged = false;
    for (let attempt = 0; ; ) {
      this.signal.throwIfAborted();
      const auth = await this.auth.header(req.scopes);
      const headers: Record<string, string> = { 'user-agent': 'berth', ...req.headers };
      if (auth) headers.authorization = auth;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: req.method,
          headers,
          body: req.body?.(),
          dispatcher,
          signal: this.signal,
        });
      } catch (err) {
        this.signal.throwIfAborted();
        if (attempt < backoffMs.length && isRetryableNetworkError(err)) {
          log.debug(`${req.method} ${url}: ${errorMessage(err)}; retrying`);
          await sleep(backoffMs[attempt++], undefined, { signal: this.signal });
          continue;
        }
        throw new RegistryError(`${this.host}: ${req.method} ${url.pathname} failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      if (res.statusCode === 401 && !challenged) {
        await res.body.dump();
        challenged = true;
        if (await this.auth.onChallenge(header(res, 'www-authenticate'), req.scopes, !!auth)) continue;
      } else if (res.statusCode === 401) {
        await res.body.dump();
        throw new RegistryError(
          `${this.host}: unauthorized for ${url.pathname}: run "berth login ${this.host}"`,
        );
      }
      if (retryStatuses.has(res.statusCode) && attempt < backoffMs.length) {
        await res.body.dump();
        log.debug(`${req.method} ${url}: HTTP ${res.statusCode}; retrying`);
        await sleep(backoffMs[attempt++], undefined, { signal: this.signal });
        continue;
      }
      return res;
    }
  }

  /** A failure message for an unexpected status, with the registry's own error text when it gave one. */
  async failure(res: Dispatcher.ResponseData, what: string): Promise<RegistryError> {
    let detail = '';
    try {
      const body = JSON.parse(await res.body.text()) as {
        errors?: Array<{ code?: string; message?: string }>;
      };
      const e = body.errors?.[0];
      if (e) detail = `: ${e.code ?? ''} ${e.message ?? ''}`.trimEnd();
    } catch {
      // no JSON error body
    }
    return new RegistryError(`${this.host}: ${what}: HTTP ${res.statusCode}${detail}`);
  }

  /** Checks that the registry is reachable and accepts the configured credentials. */
  async ping(): Promise<void> {
    const res = await this.send({ method: 'GET', path: '/v2/', scopes: [] });
    if (res.statusCode !== 200) throw await this.failure(res, 'GET /v2/');
    await res.body.dump();
  }

  async getManifest(repository: string, reference: string, push = false): Promise<FetchedManifest> {
    const res = await this.send({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      scopes: [push ? pushScope(repository) : pullScope(repository)],
      headers: { accept: manifestAccept },
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new RegistryError(`${this.registry}/${repository}:${reference}: manifest not found`);
    }
    if (res.statusCode !== 200) throw await this.failure(res, `GET manifest ${repository}:${reference}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference)
      throw new RegistryError(
        `${this.registry}/${repository}@${reference}: manifest digest mismatch (got ${digest})`,
      );
    let mediaType = (header(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
      if (parsed.mediaType) mediaType = parsed.mediaType;
    } catch {
      throw new RegistryError(`${this.registry}/${repository}:${reference}: manifest is not JSON`);
    }
    return { bytes, mediaType, digest };
  }

  /** The digest the tag points to, or undefined when it does not exist. */
  async headManifest(repository: string, reference: string): Promise<string | undefined> {
    const res = await this.send({
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      scopes: [pullScope(repository)],
      headers: { accept: manifestAccept },
    });
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200)
      throw new RegistryError(
        `${this.host}: HEAD manifest ${repository}:${reference}: HTTP ${res.statusCode}`,
      );
    return header(res, 'docker-content-digest');
  }

  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.send({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      scopes: [pushScope(repository)],
      headers: { 'content-type': mediaType },
      body: () => bytes,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200)
      throw await this.failure(res, `PUT manifest ${repository}:${reference}`);
    await res.body.dump();
    const echoed = header(res, 'docker-content-digest');
    const digest = sha256Digest(bytes);
    if (echoed && echoed !== digest)
      throw new RegistryError(
        `${this.host}: ${repository}:${reference}: registry stored digest ${echoed}, expected ${digest}`,
      );
  }

  async hasBlob(repository: string, digest: string, push = false): Promise<boolean> {
    const res = await this.send({
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [push ? pushScope(repository) : pullScope(repository)],
    });
    await res.body.dump();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new RegistryError(`${this.host}: HEAD blob ${repository}@${digest}: HTTP ${res.statusCode}`);
  }

  /**
   * Starts a blob GET from `offset`, following redirects by hand: storage backends redirect to other
   * hosts, which must not receive the registry's Authorization header.
   */
  async openBlob(repository: string, digest: string, offset = 0): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    let res = await this.send({
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [pullScope(repository)],
      headers,
    });
    let current = await this.url(`/v2/${repository}/blobs/${digest}`);
    for (let hops = 0; [301, 302, 303, 307, 308].includes(res.statusCode); hops++) {
      const location = header(res, 'location');
      await res.body.dump();
      if (!location || hops >= 5)
        throw new RegistryError(`${this.host}: blob ${digest}: too many or empty redirects`);
      const next = new URL(location, current);
      if (next.host === current.host && next.host === this.host) {
        res = await this.send({ method: 'GET', path: next.href, scopes: [pullScope(repository)], headers });
      } else {
        const dispatcher = await dispatcherFor(next.host, this.opts, next.protocol === 'https:');
        res = await request(next, {
          method: 'GET',
          headers: { 'user-agent': 'berth', ...headers },
          dispatcher,
          signal: this.signal,
        });
      }
      current = next;
    }
    return res;
  }

  /** Tries a cross-repository mount; true when the registry linked the blob without an upload. */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean | string> {
    const res = await this.send({
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [pushScope(repository), pullScope(from)],
    });
    await res.body.dump();
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202) return header(res, 'location') ?? false;
    return false;
  }

  /**
   * Uploads one blob: one streaming PATCH of the whole body, then PUT with the digest merged into the
   * Location's query (which may already carry the registry's `_state`).
   */
  async uploadBlob(
    repository: string,
    digest: string,
    size: number,
    open: () => Readable,
    session?: string,
  ): Promise<void> {
    const scopes = [pushScope(repository)];
    let location = session;
    if (!location) {
      const res = await this.send({ method: 'POST', path: `/v2/${repository}/blobs/uploads/`, scopes });
      if (res.statusCode !== 202) throw await this.failure(res, `start upload of ${digest} to ${repository}`);
      await res.body.dump();
      location = header(res, 'location');
      if (!location) throw new RegistryError(`${this.host}: upload to ${repository} gave no Location`);
    }
    const startUrl = new URL(location, await this.url(`/v2/${repository}/blobs/uploads/`));
    const patched = await this.send({
      method: 'PATCH',
      path: startUrl.href,
      scopes,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: open,
    });
    if (patched.statusCode !== 202) throw await this.failure(patched, `upload of ${digest} to ${repository}`);
    await patched.body.dump();
    const after = header(patched, 'location') ?? startUrl.href;
    const putUrl = new URL(after, startUrl);
    putUrl.searchParams.set('digest', digest);
    const put = await this.send({
      method: 'PUT',
      path: putUrl.href,
      scopes,
      headers: { 'content-length': '0' },
    });
    if (put.statusCode !== 201) throw await this.failure(put, `finish upload of ${digest} to ${repository}`);
    await put.body.dump();
  }
}

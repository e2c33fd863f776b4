// Small HTTPS client for supervisor, peer and API calls. Servers are trusted by the pinned cluster CA, not by
// host name: k3s agents reach servers through addresses (balancers, VIPs) that need not be in the cert.
import { request } from 'node:https';

export interface CallOptions {
  method?: string;
  ca?: string;
  insecure?: boolean;
  basicAuth?: { user: string; password: string };
  clientCert?: { cert: string; key: string };
  headers?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface CallResult {
  status: number;
  text: string;
}

export class ConnectError extends Error {}

export function callHttps(url: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { 'User-Agent': 'k3s/standin', ...opts.headers };
  if (opts.basicAuth) {
    headers.Authorization = `Basic ${Buffer.from(`${opts.basicAuth.user}:${opts.basicAuth.password}`).toString('base64')}`;
  }
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers,
        ca: opts.ca,
        cert: opts.clientCert?.cert,
        key: opts.clientCert?.key,
        rejectUnauthorized: !opts.insecure,
        checkServerIdentity: () => undefined,
        timeout: opts.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => reject(new ConnectError(`${url}: ${e.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout awaiting response')));
    req.on('error', (e) => reject(new ConnectError(`Get "${url}": ${e.message}`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Splits a PEM bundle into its certificates and its private key, as k3s serves node certs. */
export function splitPem(bundle: string): { certs: string; key: string } {
  const blocks = bundle.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----\n?/g) ?? [];
  const certs = blocks.filter((b) => b.includes('CERTIFICATE')).map((b) => (b.endsWith('\n') ? b : `${b}\n`));
  const key = blocks.find((b) => b.includes('PRIVATE KEY')) ?? '';
  return { certs: certs.join(''), key: key.endsWith('\n') ? key : `${key}\n` };
}

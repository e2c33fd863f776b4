// The k0s API a controller serves on spec.api.k0sApiPort (9443) for controllers joining: a bearer
// controller token is checked against its kube-system Secret (usage-controller-join, not expired), then
// /v1beta1/ca hands over the cluster CA, service-account keys and etcd CA, and /v1beta1/etcd/members adds
// the joining controller to etcd and answers the --initial-cluster it starts with.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { callHttps } from '../k3s/https-client.js';
import { klog } from '../k3s/standin-log.js';
import { readJson } from '../kube-api/api-response.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { SECRETS } from '../kubeadm/cluster-objects.js';
import type { KubeClient } from '../kubeadm/kubeconfig.js';
import { addEtcdMember, localEtcdClient } from './etcd-component.js';
import { type DecodedToken, validControllerToken } from './join-token.js';
import type { K0sPaths } from './k0s-paths.js';
import { sharedPki } from './k0s-pki.js';

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function serveK0sApi(p: K0sPaths, port: number, admin: KubeClient): Promise<Server> {
  const server = createServer(
    { cert: readFileSync(join(p.pki, 'k0s-api.crt')), key: readFileSync(join(p.pki, 'k0s-api.key')) },
    (req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const secrets: KubeObject[] = (await admin.get(SECRETS))?.items ?? [];
        if (!validControllerToken(bearer, secrets)) return send(res, 401, { error: 'Unauthorized' });
        const path = new URL(req.url ?? '/', 'https://x').pathname;
        if (req.method === 'GET' && path === '/v1beta1/ca') return send(res, 200, { files: sharedPki(p) });
        if (req.method === 'POST' && path === '/v1beta1/etcd/members') {
          const body = (await readJson(req)) as KubeObject;
          if (typeof body?.node !== 'string' || typeof body?.peerAddress !== 'string')
            return send(res, 400, { error: 'node and peerAddress are required' });
          const initialCluster = await addEtcdMember(localEtcdClient(p), body.node, body.peerAddress);
          klog.info(`Added etcd member ${body.node} (${body.peerAddress}) for a joining controller`);
          return send(res, 200, { initialCluster });
        }
        send(res, 404, { error: 'not found' });
      })().catch((e: Error) => {
        klog.error(`k0s API ${req.method} ${req.url}: ${e.message}`);
        if (!res.headersSent) send(res, 500, { error: e.message });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return server;
}

export class JoinError extends Error {}

/** A call of a joining controller to the k0s API its token names. */
export async function joinCall(
  t: DecodedToken,
  method: string,
  path: string,
  body?: unknown,
): Promise<KubeObject> {
  const r = await callHttps(`${t.server}${path}`, {
    method,
    ca: t.caPem,
    headers: { Authorization: `Bearer ${t.token}` },
    ...(body !== undefined ? { body } : {}),
    timeoutMs: 30_000,
  });
  if (r.status === 401)
    throw new JoinError(
      `failed to join controller: the k0s API at ${t.server} refused the token: 401 Unauthorized (invalid or expired controller token)`,
    );
  if (r.status !== 200)
    throw new JoinError(`failed to join controller: ${method} ${path}: HTTP ${r.status} ${r.text.trim()}`);
  return JSON.parse(r.text) as KubeObject;
}

// Who a request to the kube-apiserver stand-in comes from, in kube-apiserver's order: a client certificate
// signed by --client-ca-file (user from CN, groups from O), a bootstrap token (`Authorization: Bearer
// <id>.<secret>`, with --enable-bootstrap-token-auth) checked against its kube-system Secret, else the
// anonymous user when --anonymous-auth allows it. Then what the --authorization-mode chain lets it do.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiUser, KubeApiServer, RequestAttributes } from '../kube-api/api-server.js';
import { authenticateBootstrapToken } from '../kube-api/bootstrap-tokens.js';
import { nodeAuthorizes } from '../kube-api/node-authorizer.js';
import { rbacAuthorizes } from '../kube-api/rbac-authorizer.js';

export interface AuthOptions {
  bootstrapTokens: boolean;
  anonymous: boolean;
}

const ANONYMOUS: ApiUser = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** The request's user; null when it presented credentials that do not hold (401). */
export function authenticate(api: KubeApiServer, req: IncomingMessage, o: AuthOptions): ApiUser | null {
  const sock = req.socket as TLSSocket;
  const cert = sock.getPeerCertificate?.();
  if (cert && Object.keys(cert).length) {
    if (!sock.authorized) return null;
    const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
    if (!subject?.CN) return null;
    const orgs = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
    return { name: String(subject.CN), groups: [...orgs, 'system:authenticated'] };
  }
  const auth = req.headers.authorization;
  if (auth) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const secrets = () => api.list(api.typeOf('', 'Secret'), 'kube-system');
    const user = bearer && o.bootstrapTokens ? authenticateBootstrapToken(bearer, secrets()) : undefined;
    return user ?? null;
  }
  return o.anonymous ? ANONYMOUS : null;
}

/** What the --authorization-mode chain, tried in order, says about one request. */
export function authorizes(
  api: KubeApiServer,
  modes: string[],
  user: ApiUser,
  a: RequestAttributes,
): boolean {
  // The system:masters group passes every authorizer, as kube-apiserver's privileged group does.
  if (user.groups.includes('system:masters')) return true;
  for (const mode of modes) {
    if (mode === 'AlwaysAllow') return true;
    if (mode === 'AlwaysDeny') return false;
    if (mode === 'Node' && nodeAuthorizes(user, a)) return true;
    if (mode === 'RBAC' && rbacAuthorizes(api, user, a)) return true;
  }
  return false;
}

// The slice of the Kubernetes API a k3s server answers here: version/health, discovery, and nodes (with the
// status subresource, Tables for kubectl, selectors, watch).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyError, readJson, sendJson, sendStatus, sendText } from './api-response.js';
import type { ClusterState, StateRecord } from './cluster-state.js';
import { type KubeObject, nodeTable, withLiveness } from './node-object.js';
import { dropDirectives, jsonPatch, mergePatch, PatchError } from './object-patch.js';
import { K3S_COMMIT, K3S_GO_VERSION, K3S_VERSION } from './standin-paths.js';

export interface ApiUser {
  name: string;
  groups: string[];
}

export interface ApiContext {
  state: ClusterState;
  advertiseAddress: string;
  clusterCidr: string;
}

const healthChecks = [
  'ping',
  'log',
  'etcd',
  'informer-sync',
  'poststarthook/start-apiserver-admission-initializer',
];

export function versionInfo(): KubeObject {
  const m = /^v(\d+)\.(\d+)/.exec(K3S_VERSION);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '28',
    gitVersion: K3S_VERSION,
    gitCommit: `${K3S_COMMIT}0000000000000000000000000000000`,
    gitTreeState: 'clean',
    buildDate: '2024-09-19T21:54:37Z',
    goVersion: K3S_GO_VERSION,
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

const nodeResources = [
  {
    name: 'nodes',
    singularName: 'node',
    namespaced: false,
    kind: 'Node',
    shortNames: ['no'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    storageVersionHash: 'XwShjMxG9Fs=',
  },
  {
    name: 'nodes/status',
    singularName: '',
    namespaced: false,
    kind: 'Node',
    verbs: ['get', 'patch', 'update'],
  },
];

function selectorMatches(expr: string | null, fields: Record<string, string>): boolean {
  if (!expr) return true;
  const terms = expr.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const set = m[3].split(',').map((s) => s.trim());
      const has = m[1] in fields && set.includes(fields[m[1]]);
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(t);
    if (m) return m[2] === '!=' ? fields[m[1]] !== m[3] : fields[m[1]] === m[3];
    if (t.startsWith('!')) return !(t.slice(1) in fields);
    return t in fields;
  });
}

function nodeFields(n: KubeObject): Record<string, string> {
  return { 'metadata.name': n.metadata.name, 'spec.unschedulable': String(Boolean(n.spec?.unschedulable)) };
}

function authorize(user: ApiUser, verb: string, name?: string): boolean {
  if (user.groups.includes('system:masters')) return true;
  if (!user.groups.includes('system:nodes')) return false;
  if (verb === 'get' || verb === 'list' || verb === 'watch') return true;
  return (
    ['create', 'update', 'patch'].includes(verb) && name !== undefined && user.name === `system:node:${name}`
  );
}

function forbid(res: ServerResponse, user: ApiUser, verb: string, name?: string): void {
  const what = name ? `nodes "${name}"` : 'nodes';
  sendStatus(
    res,
    403,
    'Forbidden',
    `${what} is forbidden: User "${user.name}" cannot ${verb} resource "nodes" in API group "" at the cluster scope`,
    name ? { name, kind: 'nodes' } : { kind: 'nodes' },
  );
}

const notFound = (res: ServerResponse, name: string) =>
  sendStatus(res, 404, 'NotFound', `nodes "${name}" not found`, { name, kind: 'nodes' });

export class KubeApi {
  constructor(private readonly ctx: ApiContext) {}

  private node(name: string): KubeObject | undefined {
    return this.ctx.state.get(`node/${name}`) as KubeObject | undefined;
  }

  private view(n: KubeObject): KubeObject {
    return withLiveness(n, Date.now());
  }

  async handle(req: IncomingMessage, res: ServerResponse, user: ApiUser): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      if (url.searchParams.has('verbose')) {
        const kind = path.slice(1);
        sendText(res, 200, `${healthChecks.map((c) => `[+]${c} ok`).join('\n')}\n${kind} check passed\n`);
      } else sendText(res, 200, 'ok');
      return;
    }
    if (path === '/version') return sendJson(res, 200, versionInfo());
    if (path === '/api') {
      return sendJson(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.ctx.advertiseAddress }],
      });
    }
    if (path === '/apis') return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1') {
      return sendJson(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: nodeResources });
    }
    // No containers run under the stand-in, so pods exist only as an always-empty list (kubectl drain reads it).
    if (/^\/api\/v1\/(namespaces\/[^/]+\/)?pods$/.test(path) && method === 'GET') {
      if (!user.groups.includes('system:masters')) return forbid(res, user, 'list');
      return sendJson(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: this.ctx.state.resourceVersion },
        items: [],
      });
    }
    const m = /^\/api\/v1\/nodes(?:\/([^/]+)(\/status)?)?$/.exec(path);
    if (!m) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource', {});
    const name = m[1] ? decodeURIComponent(m[1]) : undefined;
    const status = Boolean(m[2]);
    try {
      if (!name) return await this.collection(req, res, url, user, method);
      return await this.item(req, res, user, method, name, status);
    } catch (e) {
      if (e instanceof BodyError) return sendStatus(res, 400, 'BadRequest', e.message);
      if (e instanceof PatchError) return sendStatus(res, 422, 'Invalid', e.message);
      throw e;
    }
  }

  private async collection(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: ApiUser,
    method: string,
  ) {
    if (method === 'POST') {
      const body = (await readJson(req)) as KubeObject;
      const name = body.metadata?.name;
      if (!authorize(user, 'create', name)) return forbid(res, user, 'create', name);
      if (!name)
        return sendStatus(
          res,
          422,
          'Invalid',
          'Node "" is invalid: metadata.name: Required value: name or generateName is required',
        );
      if (this.node(name)) {
        return sendStatus(res, 409, 'AlreadyExists', `nodes "${name}" already exists`, {
          name,
          kind: 'nodes',
        });
      }
      return sendJson(res, 201, this.create(body));
    }
    if (method !== 'GET')
      return sendStatus(
        res,
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    const verb =
      url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' ? 'watch' : 'list';
    if (!authorize(user, verb)) return forbid(res, user, verb);
    const filter = (n: KubeObject) =>
      selectorMatches(url.searchParams.get('labelSelector'), n.metadata.labels ?? {}) &&
      selectorMatches(url.searchParams.get('fieldSelector'), nodeFields(n));
    if (verb === 'watch') return this.watch(req, res, url, filter);
    const items = (this.ctx.state.values('node/') as KubeObject[]).filter(filter).map((n) => this.view(n));
    const rv = this.ctx.state.resourceVersion;
    const accept = req.headers.accept ?? '';
    if (/as=Table/.test(accept)) {
      return sendJson(
        res,
        200,
        nodeTable(items, rv, url.searchParams.get('includeObject') ?? 'Metadata', Date.now()),
      );
    }
    const listItems = items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    return sendJson(res, 200, {
      kind: 'NodeList',
      apiVersion: 'v1',
      metadata: { resourceVersion: rv },
      items: listItems,
    });
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    filter: (n: KubeObject) => boolean,
  ): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const send = (type: string, object: KubeObject) => res.write(`${JSON.stringify({ type, object })}\n`);
    const since = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (!since)
      for (const n of this.ctx.state.values('node/') as KubeObject[])
        if (filter(n)) send('ADDED', this.view(n));
    const onChange = (r: StateRecord, previous: unknown) => {
      if (!r.key.startsWith('node/')) return;
      if (r.value === null) {
        if (previous && filter(previous as KubeObject)) {
          const gone = structuredClone(previous as KubeObject);
          gone.metadata.resourceVersion = String(r.rv);
          send('DELETED', gone);
        }
      } else if (filter(r.value as KubeObject))
        send(previous ? 'MODIFIED' : 'ADDED', this.view(r.value as KubeObject));
    };
    this.ctx.state.on('change', onChange);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
    const timer = setTimeout(() => res.end(), timeout * 1000);
    req.on('close', () => {
      clearTimeout(timer);
      this.ctx.state.off('change', onChange);
    });
  }

  private podCidr(): string | undefined {
    const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(this.ctx.clusterCidr);
    if (!m) return undefined;
    const used = new Set((this.ctx.state.values('node/') as KubeObject[]).map((n) => n.spec?.podCIDR));
    for (let i = 0; i < 256; i++) {
      const cidr = `${m[1]}.${m[2]}.${i}.0/24`;
      if (!used.has(cidr)) return cidr;
    }
    return undefined;
  }

  create(body: KubeObject): KubeObject {
    const name: string = body.metadata.name;
    const obj = structuredClone(body);
    obj.kind = 'Node';
    obj.apiVersion = 'v1';
    obj.spec ??= {};
    if (!obj.spec.podCIDR) {
      const cidr = this.podCidr();
      if (cidr) {
        obj.spec.podCIDR = cidr;
        obj.spec.podCIDRs = [cidr];
      }
    }
    const record = this.ctx.state.put(`node/${name}`, (rv) => {
      obj.metadata = {
        ...obj.metadata,
        uid: randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      };
      return obj;
    });
    return record.value as KubeObject;
  }

  /** Stores an updated node, keeping identity fields; `status` picks which half the caller may change. */
  save(current: KubeObject, next: KubeObject, status: boolean): KubeObject {
    const name = current.metadata.name;
    const merged: KubeObject = status
      ? { ...structuredClone(current), status: next.status }
      : { ...structuredClone(next), status: structuredClone(current.status) };
    merged.kind = 'Node';
    merged.apiVersion = 'v1';
    const record = this.ctx.state.put(`node/${name}`, (rv) => {
      merged.metadata = {
        ...merged.metadata,
        name,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        resourceVersion: String(rv),
      };
      return merged;
    });
    return record.value as KubeObject;
  }

  delete(name: string): void {
    this.ctx.state.put(`node/${name}`, () => null);
    // k3s drops the node password secret and, for a server, its etcd member together with the node.
    if (this.ctx.state.get(`pw/${name}`) !== undefined) this.ctx.state.put(`pw/${name}`, () => null);
    if (this.ctx.state.get(`server/${name}`) !== undefined) this.ctx.state.put(`server/${name}`, () => null);
  }

  private async item(
    req: IncomingMessage,
    res: ServerResponse,
    user: ApiUser,
    method: string,
    name: string,
    status: boolean,
  ) {
    const verb = { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method];
    if (!verb || (status && verb === 'delete')) {
      return sendStatus(
        res,
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
    if (!authorize(user, verb, name)) return forbid(res, user, verb, name);
    const current = this.node(name);
    if (!current) return notFound(res, name);
    if (verb === 'get') return sendJson(res, 200, this.view(current));
    if (verb === 'delete') {
      this.delete(name);
      return sendJson(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, kind: 'nodes', uid: current.metadata.uid },
      });
    }
    const body = await readJson(req);
    let next: KubeObject;
    if (verb === 'update') {
      next = body as KubeObject;
      const want = next.metadata?.resourceVersion;
      if (want && want !== current.metadata.resourceVersion) {
        return sendStatus(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, kind: 'nodes' },
        );
      }
      if (next.metadata?.name && next.metadata.name !== name) {
        return sendStatus(
          res,
          400,
          'BadRequest',
          `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
        );
      }
    } else {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type === 'application/json-patch+json') next = jsonPatch(current, body);
      else if (type === 'application/merge-patch+json') next = mergePatch(current, body) as KubeObject;
      else if (type === 'application/strategic-merge-patch+json')
        next = mergePatch(current, dropDirectives(body)) as KubeObject;
      else {
        return sendStatus(
          res,
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
        );
      }
    }
    return sendJson(res, 200, this.save(current, next, status));
  }
}

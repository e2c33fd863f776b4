// A Kubernetes API server over an ObjectStorage: every kind of resource-types.ts and of the CRDs stored,
// with create/get/list/watch/update/patch/delete, the status subresource, selectors, resourceVersion and
// generation, owner-reference cascades and namespace cleanup. Stand-ins serve it on their port; what they
// add (node liveness, pod CIDRs, who may do what) comes in through ApiServerOptions.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroup, apiGroupList, openApiDocument, openApiIndex, resourceList } from './api-discovery.js';
import { BodyError, readBody, sendJson, sendStatus, sendText } from './api-response.js';
import { type KubeObject, kubeTime, sameJson, specPart } from './kube-object.js';
import { applyDefaults, DefaultingError } from './object-defaults.js';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from './object-patch.js';
import { type ObjectStorage, StorageConflictError, type StoredRecord } from './object-storage.js';
import { objectTable } from './object-tables.js';
import { openApiV2Protobuf } from './openapi-v2.js';
import {
  groupVersion,
  type ResourceType,
  storageKey,
  storagePrefix,
  TypeRegistry,
  typeOfCrd,
} from './resource-types.js';
import { SCALABLE_KINDS, scaleOf } from './scale-subresource.js';
import { objectMatches } from './selectors.js';
import { WatchHistory } from './watch-events.js';

export interface ApiUser {
  name: string;
  groups: string[];
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface TypeHooks {
  /** Fills in what this server sets on create (a node's pod CIDR). */
  beforeCreate?(obj: KubeObject): void;
  /** How a stored object reads (a node whose kubelet went quiet reads NotReady). */
  view?(obj: KubeObject): KubeObject;
  /** Runs after the object is gone. */
  afterDelete?(obj: KubeObject): void;
}

export interface ApiServerOptions {
  storage: ObjectStorage;
  /** The body of /version. */
  version: KubeObject;
  /** host:port this server is reached at, for /api's serverAddressByClientCIDRs. */
  advertiseAddress: string;
  /** Cluster IPs of Services come from here (default 10.43.0.0/16, k3s's). */
  serviceCidr?: string;
  /** Everyone may do everything when absent. */
  authorize?(user: ApiUser, attrs: RequestAttributes): boolean;
  /** By `<group>/<resource>`, e.g. `/nodes`. */
  hooks?: Record<string, TypeHooks>;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: KubeObject,
  ) {
    super(message);
  }
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Write the status subresource: only status changes. */
  status?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const HEALTH_CHECKS = [
  'ping',
  'log',
  'etcd',
  'informer-sync',
  'poststarthook/start-apiserver-admission-initializer',
];
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const qualified = (t: ResourceType) => (t.group ? `${t.resource}.${t.group}` : t.resource);
/** How often a write that pinned no resourceVersion is tried again after losing to another API server. */
const CONFLICT_RETRIES = 5;

function conflict(t: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: t.group, kind: t.resource },
  );
}

function notFound(t: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(t)} "${name}" not found`, {
    name,
    group: t.group,
    kind: t.resource,
  });
}

interface Route {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

function parseRoute(path: string): Route | undefined {
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api' && seg.length >= 3) [group, version, rest] = ['', seg[1]!, seg.slice(2)];
  else if (seg[0] === 'apis' && seg.length >= 4) [group, version, rest] = [seg[1]!, seg[2]!, seg.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  return { group, version, namespace, resource: rest[0]!, name: rest[1], subresource: rest[2] };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export class KubeApiServer {
  readonly types = new TypeRegistry();
  private readonly history: WatchHistory;
  private readonly hooks: Record<string, TypeHooks>;

  constructor(private readonly opts: ApiServerOptions) {
    this.hooks = opts.hooks ?? {};
    this.history = new WatchHistory(opts.storage);
    const crdType = this.types.byKind('apiextensions.k8s.io', 'CustomResourceDefinition')!;
    const crdPrefix = storagePrefix(crdType);
    this.reloadCrds(crdPrefix);
    opts.storage.on('change', (record) => {
      if (record.key.startsWith(crdPrefix)) this.reloadCrds(crdPrefix);
    });
  }

  get storage(): ObjectStorage {
    return this.opts.storage;
  }

  private reloadCrds(prefix: string): void {
    this.types.setCrds(this.opts.storage.values(prefix) as KubeObject[]);
  }

  /** The namespaces and the `kubernetes` Service every cluster starts with; a no-op when they exist. */
  async ensureBuiltins(): Promise<void> {
    // Another API server on the same storage may make them at the same time.
    const unlessMade = (e: unknown) => {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    };
    const ns = this.typeOf('', 'Namespace');
    for (const name of BUILTIN_NAMESPACES)
      if (!this.get(ns, undefined, name))
        await this.create(ns, undefined, { metadata: { name } }).catch(unlessMade);
    const svc = this.typeOf('', 'Service');
    if (!this.get(svc, 'default', 'kubernetes')) {
      const port = /:(\d+)$/.exec(this.opts.advertiseAddress)?.[1];
      await this.create(svc, 'default', {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: {
          clusterIP: this.serviceIp(1),
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: Number(port ?? 6443) }],
        },
      }).catch(unlessMade);
    }
  }

  typeOf(group: string, kind: string): ResourceType {
    const t = this.types.byKind(group, kind);
    if (!t) throw new ApiError(404, 'NotFound', `no kind ${kind} in group "${group}"`);
    return t;
  }

  private hooksOf(t: ResourceType): TypeHooks {
    return this.hooks[`${t.group}/${t.resource}`] ?? {};
  }

  /** A stored object as clients see it, in the version asked for. */
  view(t: ResourceType, obj: KubeObject, version = t.versions[0]!): KubeObject {
    const shown = this.hooksOf(t).view?.(obj) ?? obj;
    if (!t.custom || shown.apiVersion === groupVersion(t.group, version)) return shown;
    return { ...shown, apiVersion: groupVersion(t.group, version) };
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.opts.storage.get(storageKey(t, namespace, name)) as KubeObject | undefined;
  }

  list(t: ResourceType, namespace?: string): KubeObject[] {
    return this.opts.storage.values(storagePrefix(t, namespace)) as KubeObject[];
  }

  private serviceIp(offset: number): string {
    const [base, bits] = (this.opts.serviceCidr ?? '10.43.0.0/16').split('/');
    const start = ipToInt(base!);
    const size = 2 ** (32 - Number(bits));
    return intToIp(start + (offset % size));
  }

  private allocateServiceIp(): string {
    const svc = this.typeOf('', 'Service');
    const used = new Set(this.list(svc).map((s) => s.spec?.clusterIP));
    for (let i = 10; i < 65_000; i++) {
      const ip = this.serviceIp(i);
      if (!used.has(ip)) return ip;
    }
    throw new ApiError(500, 'InternalError', 'the service IP range is full');
  }

  async create(t: ResourceType, namespace: string | undefined, body: KubeObject, o: WriteOptions = {}) {
    if (body.kind && body.kind !== t.kind) {
      throw new ApiError(
        400,
        'BadRequest',
        `the kind of the object (${body.kind}) does not match the resource (${t.kind})`,
      );
    }
    const obj = structuredClone(body);
    obj.apiVersion = body.apiVersion && t.custom ? body.apiVersion : groupVersion(t.group, t.versions[0]!);
    obj.kind = t.kind;
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (t.namespaced) {
      const ns = namespace ?? meta.namespace;
      if (!ns) throw new ApiError(400, 'BadRequest', 'the namespace of the object is missing');
      if (meta.namespace && meta.namespace !== ns) {
        throw new ApiError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = ns;
      const nsObj = this.get(this.typeOf('', 'Namespace'), undefined, ns);
      if (!nsObj)
        throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
      if (nsObj.metadata.deletionTimestamp) {
        throw new ApiError(
          403,
          'Forbidden',
          `${t.resource} "${meta.name ?? ''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        );
      }
    } else delete meta.namespace;
    if (!meta.name && meta.generateName)
      meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!meta.name) {
      throw new ApiError(
        422,
        'Invalid',
        `${t.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
    }
    if (t.group === 'rbac.authorization.k8s.io') {
      // RBAC objects are named by path segment rules (kubeadm's "kubeadm:get-nodes", "system:node-bootstrapper").
      if (['.', '..'].includes(meta.name) || /[/%]/.test(meta.name)) {
        throw new ApiError(
          422,
          'Invalid',
          `${t.kind}.rbac.authorization.k8s.io "${meta.name}" is invalid: metadata.name: Invalid value: "${meta.name}": may not be '.', '..' or contain '/' or '%'`,
        );
      }
    } else if (!NAME_RE.test(meta.name) || meta.name.length > 253) {
      throw new ApiError(
        422,
        'Invalid',
        `${t.kind} "${meta.name}" is invalid: metadata.name: Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
    const key = storageKey(t, meta.namespace, meta.name);
    if (this.opts.storage.get(key)) {
      throw new ApiError(409, 'AlreadyExists', `${qualified(t)} "${meta.name}" already exists`, {
        name: meta.name,
        group: t.group,
        kind: t.resource,
      });
    }
    if (t.status && t.kind !== 'Node') delete obj.status;
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields'])
      delete meta[k];
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTime();
    if (t.generation) meta.generation = 1;
    if (t.kind === 'CustomResourceDefinition' && !typeOfCrd(obj)) {
      throw new ApiError(
        422,
        'Invalid',
        `CustomResourceDefinition.apiextensions.k8s.io "${meta.name}" is invalid: spec: needs group, names.plural, names.kind and a served version`,
      );
    }
    this.defaults(t, obj, undefined);
    this.hooksOf(t).beforeCreate?.(obj);
    if (o.dryRun) return this.view(t, obj);
    let record: StoredRecord;
    try {
      record = await this.opts.storage.put(key, (rv) => {
        meta.resourceVersion = String(rv);
        return obj;
      });
    } catch (e) {
      if (!(e instanceof StorageConflictError)) throw e;
      throw new ApiError(409, 'AlreadyExists', `${qualified(t)} "${meta.name}" already exists`, {
        name: meta.name,
        group: t.group,
        kind: t.resource,
      });
    }
    return this.view(t, record.value as KubeObject);
  }

  /**
   * Runs a read-modify-write again when another API server wrote the object in between, as kube-apiserver's
   * guaranteed update does; a write that pinned a resourceVersion gets the conflict instead.
   */
  private async retried<T>(t: ResourceType, name: string, pinned: boolean, write: () => Promise<T>) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (e) {
        if (!(e instanceof StorageConflictError)) throw e;
        if (pinned || attempt >= CONFLICT_RETRIES) throw conflict(t, name);
      }
    }
  }

  private defaults(t: ResourceType, obj: KubeObject, current: KubeObject | undefined): void {
    try {
      applyDefaults(t, obj, current, { allocateServiceIp: () => this.allocateServiceIp() });
    } catch (e) {
      if (e instanceof DefaultingError) throw new ApiError(422, 'Invalid', e.message);
      throw e;
    }
  }

  /** Replaces an object (or, with `status`, its status), keeping what clients may not change. */
  update(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    next: KubeObject,
    o: WriteOptions = {},
  ) {
    return this.retried(t, name, Boolean(next.metadata?.resourceVersion), () =>
      this.updateOnce(t, namespace, name, next, o),
    );
  }

  private async updateOnce(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    next: KubeObject,
    o: WriteOptions,
  ) {
    const current = this.get(t, namespace, name);
    if (!current) throw notFound(t, name);
    const want = next.metadata?.resourceVersion;
    if (want && want !== current.metadata.resourceVersion) throw conflict(t, name);
    if (next.metadata?.name && next.metadata.name !== name) {
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    let merged: KubeObject;
    if (o.status) merged = { ...structuredClone(current), status: structuredClone(next.status) };
    else {
      merged = structuredClone(next);
      if (t.status) merged.status = structuredClone(current.status);
    }
    merged.kind = t.kind;
    merged.apiVersion = t.custom ? (next.apiVersion ?? current.apiVersion) : current.apiVersion;
    const keep = [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ];
    merged.metadata = { ...(merged.metadata ?? {}), name };
    if (t.namespaced) merged.metadata.namespace = current.metadata.namespace;
    for (const k of keep) {
      if (current.metadata[k] === undefined) delete merged.metadata[k];
      else merged.metadata[k] = current.metadata[k];
    }
    if (o.status) merged.metadata = structuredClone(current.metadata);
    this.defaults(t, merged, current);
    if (t.generation && specPart(merged) !== specPart(current))
      merged.metadata.generation = (current.metadata.generation ?? 0) + 1;
    merged.metadata.resourceVersion = current.metadata.resourceVersion;
    if (sameJson(merged, current)) return this.view(t, current);
    if (o.dryRun) return this.view(t, merged);
    if (merged.metadata.deletionTimestamp && !(merged.metadata.finalizers ?? []).length) {
      await this.destroy(t, current, 'Background');
      return this.view(t, merged);
    }
    const record = await this.opts.storage.put(storageKey(t, namespace, name), (rv) => {
      merged.metadata.resourceVersion = String(rv);
      return merged;
    });
    return this.view(t, record.value as KubeObject);
  }

  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    text: string,
    o: WriteOptions & { fieldManager?: string } = {},
  ) {
    const body = parseBody(text);
    const pinned = Boolean((body as KubeObject | null)?.metadata?.resourceVersion);
    return this.retried(t, name, pinned, () => this.patchOnce(t, namespace, name, contentType, body, o));
  }

  private async patchOnce(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    o: WriteOptions & { fieldManager?: string },
  ) {
    const current = this.get(t, namespace, name);
    if (contentType === 'application/apply-patch+yaml') {
      if (!o.fieldManager) {
        throw new ApiError(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      }
      if (!current) {
        const created = structuredClone(body as KubeObject);
        created.metadata = { ...created.metadata, name };
        return { object: await this.create(t, namespace, created, o), created: true };
      }
      const next = strategicMerge(current, body) as KubeObject;
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      return { object: await this.updateOnce(t, namespace, name, next, o), created: false };
    }
    if (!current) throw notFound(t, name);
    let next: KubeObject;
    try {
      if (contentType === 'application/json-patch+json') next = jsonPatch(current, body);
      else if (contentType === 'application/merge-patch+json') next = mergePatch(current, body) as KubeObject;
      else if (contentType === 'application/strategic-merge-patch+json' && !t.custom)
        next = strategicMerge(current, body) as KubeObject;
      else {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${t.custom ? '' : ', application/strategic-merge-patch+json'}`,
        );
      }
    } catch (e) {
      if (e instanceof PatchError) throw new ApiError(422, 'Invalid', e.message);
      throw e;
    }
    if (!next.metadata?.resourceVersion)
      next.metadata = { ...next.metadata, resourceVersion: current.metadata.resourceVersion };
    return { object: await this.updateOnce(t, namespace, name, next, o), created: false };
  }

  /** Deletes an object, or marks it for deletion while finalizers remain; returns whether it is gone. */
  remove(t: ResourceType, namespace: string | undefined, name: string, o: DeleteOptions = {}) {
    return this.retried(t, name, Boolean(o.preconditions?.resourceVersion), () =>
      this.removeOnce(t, namespace, name, o),
    );
  }

  private async removeOnce(t: ResourceType, namespace: string | undefined, name: string, o: DeleteOptions) {
    const current = this.get(t, namespace, name);
    if (!current) throw notFound(t, name);
    const pre = o.preconditions ?? {};
    if (
      (pre.uid && pre.uid !== current.metadata.uid) ||
      (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
    ) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualified(t)} "${name}": the precondition does not hold`,
      );
    }
    if (o.dryRun) return { object: current, gone: false };
    if ((current.metadata.finalizers ?? []).length) {
      if (current.metadata.deletionTimestamp) return { object: current, gone: false };
      const marked = structuredClone(current);
      marked.metadata.deletionTimestamp = kubeTime();
      marked.metadata.deletionGracePeriodSeconds = 0;
      if (t.kind === 'Namespace') marked.status = { phase: 'Terminating' };
      const record = await this.opts.storage.put(storageKey(t, namespace, name), (rv) => {
        marked.metadata.resourceVersion = String(rv);
        return marked;
      });
      return { object: record.value as KubeObject, gone: false };
    }
    await this.destroy(t, current, o.propagationPolicy ?? 'Background');
    return { object: current, gone: true };
  }

  /**
   * Removes a stored object and what hangs off it: dependents by owner reference (or, when orphaned, their
   * reference), a namespace's contents, a CRD's objects.
   */
  private async destroy(t: ResourceType, obj: KubeObject, policy: string): Promise<void> {
    const meta = obj.metadata;
    await this.opts.storage.put(storageKey(t, meta.namespace, meta.name), () => null);
    if (t.kind === 'Namespace') {
      for (const type of this.types.all().filter((x) => x.namespaced))
        for (const o of this.list(type, meta.name)) await this.destroy(type, o, 'Background');
    }
    if (t.kind === 'CustomResourceDefinition') {
      const custom = typeOfCrd(obj);
      if (custom)
        for (const o of this.list(custom))
          await this.opts.storage.put(storageKey(custom, o.metadata.namespace, o.metadata.name), () => null);
    }
    for (const dependent of this.opts.storage.values('k/') as KubeObject[]) {
      const refs: KubeObject[] = dependent.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === meta.uid)) continue;
      const dt = this.typeOfObject(dependent);
      if (!dt) continue;
      if (policy === 'Orphan') {
        const kept = structuredClone(dependent);
        kept.metadata.ownerReferences = refs.filter((r) => r.uid !== meta.uid);
        if (!kept.metadata.ownerReferences.length) delete kept.metadata.ownerReferences;
        await this.opts.storage.put(storageKey(dt, kept.metadata.namespace, kept.metadata.name), (rv) => {
          kept.metadata.resourceVersion = String(rv);
          return kept;
        });
      } else if (this.get(dt, dependent.metadata.namespace, dependent.metadata.name)) {
        await this.remove(dt, dependent.metadata.namespace, dependent.metadata.name, {
          propagationPolicy: policy,
        });
      }
    }
    this.hooksOf(t).afterDelete?.(obj);
  }

  private typeOfObject(o: KubeObject): ResourceType | undefined {
    const apiVersion = String(o.apiVersion ?? '');
    return this.types.byKind(apiVersion.includes('/') ? apiVersion.split('/')[0]! : '', o.kind);
  }

  /** Serves one HTTP request of an authenticated user. */
  async handle(req: IncomingMessage, res: ServerResponse, user: ApiUser): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    try {
      if (this.serveMeta(path, url, res)) return;
      const route = parseRoute(path);
      const t = route && this.types.find(route.group, route.version, route.resource);
      if (!route || !t)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (
        (route.namespace !== undefined && !t.namespaced) ||
        (route.subresource &&
          !(route.subresource === 'status' && t.status) &&
          !(route.subresource === 'scale' && SCALABLE_KINDS.has(t.kind)))
      )
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (t.namespaced && route.name && route.namespace === undefined)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      const verb = route.name
        ? { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method]
        : { GET: watch ? 'watch' : 'list', POST: 'create', DELETE: 'deletecollection' }[method];
      if (!verb)
        throw new ApiError(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      // a delete's body is only DeleteOptions (kubectl drain sends them as protobuf): read as the defaults
      if (/protobuf|cbor/.test(req.headers['content-type'] ?? '') && verb !== 'delete') {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json',
        );
      }
      // A create names its object in the body, and authorizers decide by name (a kubelet creates its Node).
      const created = verb === 'create' ? (parseBody(await readBody(req)) as KubeObject) : undefined;
      const attrs: RequestAttributes = {
        verb,
        group: t.group,
        resource: t.resource,
        subresource: route.subresource,
        namespace: route.namespace,
        name: route.name ?? created?.metadata?.name,
      };
      if (this.opts.authorize && !this.opts.authorize(user, attrs)) {
        const what = route.name ? `${qualified(t)} "${route.name}"` : qualified(t);
        const scope = route.namespace ? `in the namespace "${route.namespace}"` : 'at the cluster scope';
        throw new ApiError(
          403,
          'Forbidden',
          `${what} is forbidden: User "${user.name}" cannot ${verb} resource "${t.resource}${route.subresource ? `/${route.subresource}` : ''}" in API group "${t.group}" ${scope}`,
          { name: route.name, group: t.group, kind: t.resource },
        );
      }
      await this.serveVerb(req, res, url, t, route, verb, created);
    } catch (e) {
      if (e instanceof ApiError) return sendStatus(res, e.code, e.reason, e.message, e.details);
      if (e instanceof BodyError) return sendStatus(res, 400, 'BadRequest', e.message);
      throw e;
    }
  }

  private serveMeta(path: string, url: URL, res: ServerResponse): boolean {
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      if (url.searchParams.has('verbose'))
        sendText(
          res,
          200,
          `${HEALTH_CHECKS.map((c) => `[+]${c} ok`).join('\n')}\n${path.slice(1)} check passed\n`,
        );
      else sendText(res, 200, 'ok');
      return true;
    }
    const title = String(this.opts.version.gitVersion ?? 'v1');
    if (path === '/version') sendJson(res, 200, this.opts.version);
    else if (path === '/api')
      sendJson(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.opts.advertiseAddress }],
      });
    else if (path === '/apis') sendJson(res, 200, apiGroupList(this.types));
    else if (path === '/openapi/v3') sendJson(res, 200, openApiIndex(this.types, title));
    else if (path === '/openapi/v2') {
      const body = openApiV2Protobuf(this.types.all(), title);
      res.writeHead(200, {
        'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
        'Content-Length': body.length,
      });
      res.end(body);
    } else {
      let m = /^\/apis\/([^/]+)$/.exec(path);
      const group = m && this.types.groups().find((g) => g.name === m![1]);
      if (group) {
        sendJson(res, 200, apiGroup(group.name, group.versions));
        return true;
      }
      m = /^(?:\/openapi\/v3)?\/(?:api|apis\/([^/]+))\/([^/]+)$/.exec(path);
      if (!m) return false;
      const openapi = path.startsWith('/openapi/v3/');
      const body = openapi
        ? openApiDocument(this.types, m[1] ?? '', m[2]!, title)
        : resourceList(this.types, m[1] ?? '', m[2]!);
      if (!body) return false;
      sendJson(res, 200, body);
    }
    return true;
  }

  private async serveVerb(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    t: ResourceType,
    route: Route,
    verb: string,
    created: KubeObject | undefined,
  ): Promise<void> {
    const q = url.searchParams;
    const dryRun = q.get('dryRun') === 'All';
    const status = route.subresource === 'status';
    const ns = route.namespace;
    const version = route.version;
    if (route.subresource === 'scale') return this.serveScale(req, res, t, ns, route.name!, verb, dryRun);
    switch (verb) {
      case 'get': {
        const obj = this.get(t, ns, route.name!);
        if (!obj) throw notFound(t, route.name!);
        return this.sendObjects(req, res, t, [this.view(t, obj, version)], false);
      }
      case 'list':
      case 'watch': {
        const matches = (o: KubeObject) => objectMatches(o, q.get('labelSelector'), q.get('fieldSelector'));
        if (verb === 'watch') {
          return this.history.serve(req, res, {
            prefix: storagePrefix(t, ns),
            kind: t.kind,
            apiVersion: groupVersion(t.group, version),
            since: q.get('resourceVersion') ?? '',
            sendInitialEvents: q.get('sendInitialEvents') === 'true',
            timeoutSeconds: Number(q.get('timeoutSeconds') ?? '1800'),
            matches,
            view: (o) => this.view(t, o, version),
          });
        }
        const items = this.list(t, ns)
          .filter(matches)
          .map((o) => this.view(t, o, version));
        return this.sendObjects(req, res, t, items, true, version);
      }
      case 'create':
        return sendJson(res, 201, await this.create(t, ns, created ?? {}, { dryRun }));
      case 'update': {
        const body = parseBody(await readBody(req)) as KubeObject;
        return sendJson(res, 200, await this.update(t, ns, route.name!, body, { dryRun, status }));
      }
      case 'patch': {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const r = await this.patch(t, ns, route.name!, type, await readBody(req), {
          dryRun,
          status,
          fieldManager: q.get('fieldManager') ?? undefined,
        });
        return sendJson(res, r.created ? 201 : 200, r.object);
      }
      case 'delete': {
        const text = await readBody(req);
        const binary = /protobuf|cbor/.test(req.headers['content-type'] ?? '');
        const body = text.trim() && !binary ? (parseBody(text) as KubeObject) : {};
        const r = await this.remove(t, ns, route.name!, {
          dryRun: dryRun || (body.dryRun ?? []).includes('All'),
          propagationPolicy:
            q.get('propagationPolicy') ??
            body.propagationPolicy ??
            (body.orphanDependents ? 'Orphan' : undefined),
          preconditions: body.preconditions,
        });
        if (!r.gone) return sendJson(res, 200, this.view(t, r.object, version));
        return sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: route.name, group: t.group, kind: t.resource, uid: r.object.metadata.uid },
        });
      }
      case 'deletecollection': {
        const matches = (o: KubeObject) => objectMatches(o, q.get('labelSelector'), q.get('fieldSelector'));
        for (const o of this.list(t, ns).filter(matches))
          if (this.get(t, o.metadata.namespace, o.metadata.name))
            await this.remove(t, o.metadata.namespace, o.metadata.name, { dryRun });
        return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
      }
    }
  }

  private async serveScale(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    ns: string | undefined,
    name: string,
    verb: string,
    dryRun: boolean,
  ): Promise<void> {
    const current = this.get(t, ns, name);
    if (!current) throw notFound(t, name);
    if (verb === 'get') return sendJson(res, 200, scaleOf(current));
    const body = parseBody(await readBody(req));
    let scale: KubeObject;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (verb === 'update') scale = body as KubeObject;
    else if (verb === 'patch' && type === 'application/json-patch+json')
      scale = jsonPatch(scaleOf(current), body);
    else if (verb === 'patch') scale = mergePatch(scaleOf(current), body) as KubeObject;
    else
      throw new ApiError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    const replicas = Number(scale.spec?.replicas);
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0`,
      );
    const want = scale.metadata?.resourceVersion;
    const next: KubeObject = { ...current, spec: { ...current.spec, replicas } };
    if (want) next.metadata = { ...current.metadata, resourceVersion: want };
    sendJson(res, 200, scaleOf(await this.update(t, ns, name, next, { dryRun })));
  }

  private sendObjects(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    items: KubeObject[],
    asList: boolean,
    version = t.versions[0]!,
  ): void {
    const rv = this.opts.storage.resourceVersion;
    if (/as=Table/.test(req.headers.accept ?? '')) {
      const include = new URL(req.url ?? '/', 'http://x').searchParams.get('includeObject') ?? 'Metadata';
      sendJson(res, 200, objectTable(t, items, rv, include, Date.now()));
    } else if (!asList) sendJson(res, 200, items[0]);
    else
      sendJson(res, 200, {
        kind: t.listKind,
        apiVersion: groupVersion(t.group, version),
        metadata: { resourceVersion: rv },
        items: t.custom ? items : items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
      });
  }
}

/** Request bodies are JSON; kubectl sends server-side apply configurations as JSON too. */
function parseBody(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BodyError(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

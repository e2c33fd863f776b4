// The patch types the API accepts: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch
// (lists merged by the merge keys Kubernetes declares for the common fields, see mergeKeyOf) and server-side
// apply (approximated as a strategic merge of the applied object over the live one).
import { isObject as isObj, type KubeObject } from './kube-object.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: KubeObject = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function dropDirectives(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map(dropDirectives);
  if (!isObj(patch)) return patch;
  const out: KubeObject = {};
  for (const [k, v] of Object.entries(patch)) if (!k.startsWith('$')) out[k] = dropDirectives(v);
  return out;
}

// The patchMergeKey of list fields in the core API types, by field name.
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  taints: 'key',
  addresses: 'type',
  readinessGates: 'conditionType',
  resourceClaims: 'name',
};
// Lists of scalars that merge as sets.
const SET_LISTS = new Set(['finalizers']);

/** `ports` merge by containerPort in a container and by port in a Service. */
function mergeKeyOf(field: string, ...lists: unknown[]): string | undefined {
  if (field === 'ports') {
    const items = lists.flatMap((l) => (Array.isArray(l) ? l : []));
    return items.some((i) => isObj(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

function mergeList(target: unknown[], patch: unknown[], key: string): unknown[] {
  if (patch.some((p) => isObj(p) && p.$patch === 'replace'))
    return patch.filter((p) => !(isObj(p) && p.$patch === 'replace')).map(dropDirectives);
  const out = target.map((t) => structuredClone(t));
  for (const p of patch) {
    if (!isObj(p)) continue;
    const at = out.findIndex((t) => isObj(t) && t[key] === p[key]);
    if (p.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = strategicMerge(out[at], p);
    else out.push(dropDirectives(p));
  }
  return out;
}

function orderBy(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (v: unknown) => JSON.stringify(key && isObj(v) ? v[key] : v);
  const rank = new Map(order.map((o, i) => [id(o), i]));
  return [...list].sort((a, b) => (rank.get(id(a)) ?? order.length) - (rank.get(id(b)) ?? order.length));
}

/**
 * A strategic merge patch: maps merge, lists with a merge key merge element by element, `finalizers` merge
 * as a set, other lists are replaced; the `$patch`, `$setElementOrder`, `$deleteFromPrimitiveList` and
 * `$retainKeys` directives are honoured.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  if (patch.$patch === 'replace') return dropDirectives(patch);
  const out: KubeObject = isObj(target) ? structuredClone(target) : {};
  const orders: Array<[string, unknown[]]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/')) orders.push([k.slice(17), v as unknown[]]);
    else if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice(25);
      if (Array.isArray(out[field]))
        out[field] = out[field].filter((x: unknown) => !(v as unknown[]).includes(x));
    } else if (k.startsWith('$')) continue;
    else if (v === null) delete out[k];
    else if (Array.isArray(v)) {
      const key = mergeKeyOf(k, v, out[k]);
      if (key && v.every(isObj)) out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, key);
      else if (SET_LISTS.has(k)) out[k] = [...new Set([...(Array.isArray(out[k]) ? out[k] : []), ...v])];
      else out[k] = dropDirectives(v);
    } else if (isObj(v)) out[k] = strategicMerge(out[k], v);
    else out[k] = v;
  }
  for (const [field, order] of orders)
    if (Array.isArray(out[field]))
      out[field] = orderBy(out[field], order, mergeKeyOf(field, order, out[field]));
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k) && !(k in patch)) delete out[k];
  }
  return out;
}

export class PatchError extends Error {}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], op: string): KubeObject | unknown[] {
  let cur: unknown = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined)
      throw new PatchError(`${op} operation does not apply: doc is missing path: /${parts.join('/')}`);
  }
  if (!isObj(cur) && !Array.isArray(cur))
    throw new PatchError(`${op} operation does not apply: doc is missing path`);
  return cur;
}

function getAt(doc: unknown, parts: string[]): unknown {
  let cur = doc;
  for (const p of parts) cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
  return cur;
}

function removeAt(doc: unknown, parts: string[]): unknown {
  const parent = parentOf(doc, parts, 'remove');
  const last = parts[parts.length - 1];
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length))
      throw new PatchError(`remove operation does not apply: doc is missing path: /${parts.join('/')}`);
    return parent.splice(i, 1)[0];
  }
  if (!(last in parent))
    throw new PatchError(`remove operation does not apply: doc is missing path: /${parts.join('/')}`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: unknown, parts: string[], value: unknown, replace: boolean): void {
  const parent = parentOf(doc, parts, replace ? 'replace' : 'add');
  const last = parts[parts.length - 1];
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length))
      throw new PatchError(`add operation does not apply: index out of range: ${last}`);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(last in parent))
      throw new PatchError(`replace operation does not apply: doc is missing key: /${parts.join('/')}`);
    parent[last] = value;
  }
}

/** RFC 6902, which @kubernetes/client-node sends by default for patch calls. */
export function jsonPatch(doc: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops))
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const out = structuredClone(doc);
  for (const op of ops as KubeObject[]) {
    const parts = pointer(String(op.path ?? ''));
    switch (op.op) {
      case 'add':
        addAt(out, parts, structuredClone(op.value), false);
        break;
      case 'replace':
        addAt(out, parts, structuredClone(op.value), true);
        break;
      case 'remove':
        removeAt(out, parts);
        break;
      case 'move':
        addAt(out, parts, removeAt(out, pointer(String(op.from))), false);
        break;
      case 'copy':
        addAt(out, parts, structuredClone(getAt(out, pointer(String(op.from)))), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(out, parts)) !== JSON.stringify(op.value))
          throw new PatchError('testing value failed');
        break;
      default:
        throw new PatchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out;
}

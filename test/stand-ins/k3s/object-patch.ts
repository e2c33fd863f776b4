// The three patch types the API accepts for nodes. Strategic merge is applied as a JSON merge patch (lists
// are replaced), with its "$" directives dropped.
import type { KubeObject } from './node-object.js';

const isObj = (v: unknown): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: KubeObject = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function dropDirectives(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map(dropDirectives);
  if (!isObj(patch)) return patch;
  const out: KubeObject = {};
  for (const [k, v] of Object.entries(patch)) if (!k.startsWith('$')) out[k] = dropDirectives(v);
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

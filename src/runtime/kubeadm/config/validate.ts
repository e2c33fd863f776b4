import type { DistributionDoc } from '../../../clusterfile/documents.js';
import { formatPath } from '../../../clusterfile/positions.js';
import { InputError } from '../../../util/errors.js';
import { isMapping } from '../../../util/mapping.js';
import {
  type KubeadmApi,
  kubeadmApis,
  kubeadmGroup,
  kubeletApiVersion,
  kubeProxyApiVersion,
  type TargetApi,
} from './api-version.js';
import {
  type Field,
  type Fields,
  isListOf,
  type KubeadmKind,
  kubeadmFields,
  kubeletFields,
  kubeProxyFields,
} from './fields.js';
import { imageConfigFile, whereIs } from './sources.js';

// Refuses a document whose apiVersion the cluster's kubeadm cannot take, and any field that is not in the
// API the document names, with the line of the field and the nearest real field name.

export interface Problem {
  path: PropertyKey[];
  /** What is wrong with a known field; absent for a field the API does not have. */
  message?: string;
  /** The field probably meant, for an unknown one. */
  hint?: string;
}

/** Fields v1beta4 replaced, and what to write instead. */
const movedInV1beta4: Record<string, string> = {
  'apiServer.timeoutForControlPlane':
    'InitConfiguration/JoinConfiguration timeouts.controlPlaneComponentHealthCheck',
  'discovery.timeout': 'timeouts.discovery',
};

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The field `key` was probably meant to be: a near spelling, or CIDR written for Subnet. */
export function nearestField(key: string, fields: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/cidr|network|range/g, 'subnet');
  const same = fields.find((f) => norm(f) === norm(key));
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const f of fields) {
    const d = distance(key.toLowerCase(), f.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [f, d];
  }
  return best;
}

/** Paths of every field named `key` (any case) in the tree, e.g. podSubnet -> networking.podSubnet. */
function pathsNamed(key: string, fields: Fields, prefix: string[] = []): string[] {
  const out: string[] = [];
  for (const [name, sub] of Object.entries(fields)) {
    const at = [...prefix, name];
    if (name.toLowerCase() === key.toLowerCase()) out.push(at.join('.'));
    const inner = isListOf(sub) ? sub.listOf : typeof sub === 'object' ? (sub as Fields) : undefined;
    if (inner) out.push(...pathsNamed(key, inner, isListOf(sub) ? [...at, '[]'] : at));
  }
  return out;
}

function hintFor(key: string, path: PropertyKey[], siblings: Fields, root: Fields): string | undefined {
  const moved = movedInV1beta4[formatPath([...path, key])];
  if (moved) return moved;
  const near = nearestField(key, Object.keys(siblings));
  if (near) return near;
  const elsewhere = pathsNamed(key, root).map((p) => p.replaceAll('.[]', '[]'));
  return elsewhere.length === 1 ? elsewhere[0] : undefined;
}

function walk(value: unknown, field: Field, path: PropertyKey[], out: Problem[], root: Fields): void {
  if (field === 'value' || value === null || value === undefined) return;
  if (field === 'scalar') {
    if (typeof value === 'object') out.push({ path, message: 'must be a string, not a list or mapping' });
    return;
  }
  if (field === 'map') {
    if (!isMapping(value)) out.push({ path, message: 'must be a mapping of names to values' });
    else for (const [key, sub] of Object.entries(value)) walk(sub, 'scalar', [...path, key], out, root);
    return;
  }
  if (isListOf(field)) {
    if (!Array.isArray(value)) {
      out.push({ path, message: `must be a list of {${Object.keys(field.listOf).join(', ')}}` });
      return;
    }
    for (const [i, item] of value.entries()) walk(item, field.listOf, [...path, i], out, root);
    return;
  }
  const fields = field as Fields;
  if (!isMapping(value)) {
    out.push({ path, message: 'must be a mapping' });
    return;
  }
  for (const [key, sub] of Object.entries(value)) {
    const known = fields[key];
    if (known === undefined) out.push({ path: [...path, key], hint: hintFor(key, path, fields, root) });
    else walk(sub, known, [...path, key], out, root);
  }
}

/** Every field of `object` that the tree `fields` does not have or that has the wrong shape. */
export function problems(object: unknown, fields: Fields): Problem[] {
  const out: Problem[] = [];
  walk(object, fields, [], out, fields);
  return out;
}

/** The kubeadm API a kubeadm-kind document declares, refusing one the cluster's kubeadm cannot read. */
export function documentApi(doc: DistributionDoc, target: TargetApi): KubeadmApi {
  const version = doc.apiVersion.startsWith(`${kubeadmGroup}/`)
    ? doc.apiVersion.slice(kubeadmGroup.length + 1)
    : undefined;
  const where = whereIs(doc, ['apiVersion']);
  if (!kubeadmApis.includes(version as KubeadmApi)) {
    throw new InputError(
      `${where}: ${doc.kind} apiVersion ${JSON.stringify(doc.apiVersion)} is not one berth reads; write ${kubeadmGroup}/${target}`,
    );
  }
  if (version === 'v1beta4' && target === 'v1beta3') {
    throw new InputError(
      `${where}: ${doc.kind} is ${kubeadmGroup}/v1beta4, which kubeadm reads from Kubernetes 1.31 on; this image needs ${kubeadmGroup}/v1beta3`,
    );
  }
  return version as KubeadmApi;
}

function fail(doc: DistributionDoc, problem: Problem): never {
  const where = whereIs(doc, problem.path);
  const field = formatPath(problem.path);
  if (problem.message) throw new InputError(`${where}: ${doc.kind} field ${field} ${problem.message}`);
  const hint = problem.hint ? `; did you mean ${problem.hint}?` : '';
  throw new InputError(`${where}: ${doc.kind} field ${field} is not in ${doc.apiVersion}${hint}`);
}

/** Throws for the first field of a kubeadm document that its API does not have. */
export function checkKubeadmDocument(doc: DistributionDoc, api: KubeadmApi): void {
  const [first] = problems(doc.object, kubeadmFields(doc.kind as KubeadmKind, api));
  if (first) fail(doc, first);
}

/**
 * Checks a KubeletConfiguration or KubeProxyConfiguration and returns the object to merge. A Clusterfile
 * document with an unknown field is refused; the image's is used without it, with a line in `warnings`,
 * as kubelet and kube-proxy themselves only warn about one.
 */
export function checkComponentDocument(doc: DistributionDoc, warnings: string[]): Record<string, unknown> {
  const kubelet = doc.kind === 'KubeletConfiguration';
  const apiVersion = kubelet ? kubeletApiVersion : kubeProxyApiVersion;
  if (doc.apiVersion !== apiVersion) {
    throw new InputError(
      `${whereIs(doc, ['apiVersion'])}: ${doc.kind} apiVersion ${JSON.stringify(doc.apiVersion)} is not one berth reads; write ${apiVersion}`,
    );
  }
  const found = problems(doc.object, kubelet ? kubeletFields : kubeProxyFields);
  if (found.length === 0) return doc.object;
  if (doc.file !== imageConfigFile) fail(doc, found[0]!);
  const object = { ...doc.object };
  for (const p of found) {
    warnings.push(
      `${whereIs(doc, p.path)}: ${doc.kind} field ${formatPath(p.path)} is not in ${apiVersion}; it is left out`,
    );
    delete object[String(p.path[0])];
  }
  return object;
}

// Discovery (/api, /apis, each group version's resource list) and the OpenAPI v3 index kubectl reads before
// `apply`: kubectl validates on the server when the PATCH operation of a kind takes `fieldValidation`, and
// needs no schemas for that (without any OpenAPI it refuses to apply).
import { createHash } from 'node:crypto';
import type { KubeObject } from './kube-object.js';
import { groupVersion, type ResourceType, type TypeRegistry } from './resource-types.js';
import { SCALABLE_KINDS } from './scale-subresource.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiGroupList(types: TypeRegistry): KubeObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: types
      .groups()
      .filter((g) => g.name !== '')
      .map((g) => apiGroup(g.name, g.versions)),
  };
}

export function apiGroup(name: string, versions: string[]): KubeObject {
  const list = versions.map((version) => ({ groupVersion: groupVersion(name, version), version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: list, preferredVersion: list[0] };
}

export function resourceList(types: TypeRegistry, group: string, version: string): KubeObject | undefined {
  const served = types.all().filter((t) => t.group === group && t.versions.includes(version));
  if (!served.length) return undefined;
  const resources = served.flatMap((t) => {
    const main: KubeObject = {
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
    };
    if (t.shortNames.length) main.shortNames = t.shortNames;
    if (t.categories.length) main.categories = t.categories;
    const out = [main];
    if (t.status) {
      out.push({
        name: `${t.resource}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (SCALABLE_KINDS.has(t.kind) && !t.custom) {
      out.push({
        name: `${t.resource}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    }
    return out;
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function itemPath(t: ResourceType, version: string): string {
  const ns = t.namespaced ? '/namespaces/{namespace}' : '';
  return `/${gvPath(t.group, version)}${ns}/${t.resource}/{name}`;
}

/** The OpenAPI v3 document of one group version: a PATCH operation per kind, no schemas. */
export function openApiDocument(types: TypeRegistry, group: string, version: string, title: string) {
  const served = types.all().filter((t) => !t.custom && t.group === group && t.versions.includes(version));
  if (!served.length) return undefined;
  const paths: KubeObject = {};
  for (const t of served) {
    paths[itemPath(t, version)] = {
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, version, kind: t.kind },
        parameters: [
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
        ],
      },
    };
  }
  return { openapi: '3.0.0', info: { title, version: title }, paths, components: { schemas: {} } };
}

/** /openapi/v3: where each built-in group version's document is, with a hash of it for kubectl's cache. */
export function openApiIndex(types: TypeRegistry, title: string): KubeObject {
  const paths: KubeObject = {};
  for (const g of types.groups()) {
    for (const v of g.versions) {
      const doc = openApiDocument(types, g.name, v, title);
      if (!doc) continue;
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 32).toUpperCase();
      paths[gvPath(g.name, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g.name, v)}?hash=${hash}` };
    }
  }
  return { paths };
}

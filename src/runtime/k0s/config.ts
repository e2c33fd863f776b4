import { LineCounter, parseDocument, stringify } from 'yaml';
import type { DistributionDoc } from '../../clusterfile/documents.js';
import { fieldLines, formatPath } from '../../clusterfile/positions.js';
import { InputError } from '../../util/errors.js';
import { isMapping, type Mapping } from '../../util/mapping.js';
import { documentValue } from '../../util/yaml-value.js';
import type { KubeVersion } from '../kube-version.js';
import { mergeObjects } from '../kubeadm/config/merge.js';
import { whereIs } from '../kubeadm/config/sources.js';
import { problems } from '../kubeadm/config/validate.js';
import type { ClusterHost, PrepareContext } from '../types.js';
import { clusterConfigFields, ignoredFields } from './config-fields.js';

// /etc/k0s/k0s.yaml of a controller: berth's defaults, under the image's default config (etc/k0s.yaml),
// under the Clusterfile's ClusterConfig documents in order, under what berth must set for the cluster to
// work (the controller's own addresses, the API port, the names its certificate must carry, k0s's
// node-local load balancing when there are several controllers). Every layer is checked against the
// fields of the image's k0s before any host is touched, as k0s itself refuses an unknown field at start.

export const clusterConfigApiVersion = 'k0s.k0sproject.io/v1beta1';
/** How messages name the image's default config file. */
export const imageConfigFile = 'image:etc/k0s.yaml';

type ConfigContext = Pick<
  PrepareContext,
  | 'masters'
  | 'nodes'
  | 'apiPort'
  | 'apiServerDomain'
  | 'vip'
  | 'kubeVersion'
  | 'distributionConfig'
  | 'imageDefaultConfig'
>;

/** What berth sets unless the image or the Clusterfile says otherwise: no telemetry from offline clusters. */
const berthDefaults: Mapping = { spec: { telemetry: { enabled: false } } };

/** The image's etc/k0s.yaml as a document with the line of each field. */
export function imageDocument(text: string | undefined): DistributionDoc | undefined {
  if (!text?.trim()) return undefined;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = syntax.linePos?.[0].line;
    throw new InputError(
      `${imageConfigFile}${at ? `:${at}` : ''}: YAML syntax: ${syntax.message.split('\n')[0]}`,
    );
  }
  const value = documentValue(doc, imageConfigFile);
  if (value === null || value === undefined) return undefined;
  if (!isMapping(value))
    throw new InputError(`${imageConfigFile}:1: the k0s config must be a ClusterConfig mapping`);
  return {
    kind: String(value.kind ?? 'ClusterConfig'),
    apiVersion: String(value.apiVersion ?? ''),
    distribution: 'k0s',
    object: value,
    file: imageConfigFile,
    line: 1,
    fieldLines: fieldLines(doc, lines),
  };
}

/** `value` without the fields k0s ignores, at any depth. */
function withoutIgnored(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIgnored);
  if (!isMapping(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !ignoredFields.has(k))
      .map(([k, v]) => [k, withoutIgnored(v)]),
  );
}

function documentName(doc: DistributionDoc): string {
  const meta = doc.object.metadata;
  const name = isMapping(meta) && typeof meta.name === 'string' ? meta.name : 'k0s';
  return `${doc.kind} ${name}`;
}

/** Refuses a document k0s would not start with; returns its object without the ignored fields. */
export function checkDocument(doc: DistributionDoc, version: KubeVersion | undefined): Mapping {
  const k0s = version ? `k0s ${version.text}` : 'k0s';
  if (doc.kind !== 'ClusterConfig') {
    throw new InputError(
      `${whereIs(doc, ['kind'])}: kind ${JSON.stringify(doc.kind)} is not a k0s config; write ClusterConfig`,
    );
  }
  if (doc.apiVersion !== clusterConfigApiVersion) {
    throw new InputError(
      `${whereIs(doc, ['apiVersion'])}: ${documentName(doc)} apiVersion ${JSON.stringify(doc.apiVersion)} is not one ${k0s} reads; write ${clusterConfigApiVersion}`,
    );
  }
  const object = withoutIgnored(doc.object) as Mapping;
  const [first] = problems(object, clusterConfigFields(version));
  if (first) {
    const field = formatPath(first.path);
    const what =
      first.message ??
      `is not a field of ${k0s}'s ClusterConfig${first.hint ? `; did you mean ${first.hint}?` : ''}`;
    throw new InputError(`${whereIs(doc, first.path)}: ${documentName(doc)} field ${field} ${what}`);
  }
  return object;
}

/** berth's defaults, the image's config and the Clusterfile's, checked and merged in that order. */
export function userConfig(ctx: ConfigContext): Mapping {
  const image = imageDocument(ctx.imageDefaultConfig);
  const docs = [...(image ? [image] : []), ...ctx.distributionConfig];
  return docs.reduce(
    (merged, doc) => mergeObjects(merged, checkDocument(doc, ctx.kubeVersion)),
    berthDefaults,
  );
}

function get(object: Mapping, path: string[]): unknown {
  let at: unknown = object;
  for (const key of path) at = isMapping(at) ? at[key] : undefined;
  return at;
}

/** Every name a controller's API certificate carries: the configs' own sans, every controller, the endpoint and the VIP. */
export function apiSans(ctx: ConfigContext, config: Mapping): string[] {
  const own = get(config, ['spec', 'api', 'sans']);
  const controllers = ctx.masters.flatMap((m) => [m.ip, ...(m.hostname ? [m.hostname] : [])]);
  return [
    ...new Set([
      ...(Array.isArray(own) ? own.map(String) : []),
      ...controllers,
      ctx.apiServerDomain,
      ctx.vip,
    ]),
  ];
}

/**
 * /etc/k0s/k0s.yaml of controller `host`; `nodeLocalBalancing` turns on k0s's node-local load balancing
 * (envoy on every worker, spreading the API over the controllers).
 */
export function controllerConfig(ctx: ConfigContext, host: ClusterHost, nodeLocalBalancing: boolean): string {
  const config = userConfig(ctx);
  const storage = get(config, ['spec', 'storage', 'type']);
  const required: Mapping = {
    apiVersion: clusterConfigApiVersion,
    kind: 'ClusterConfig',
    metadata: { name: get(config, ['metadata', 'name']) ?? 'k0s' },
    spec: {
      api: { address: host.ip, port: ctx.apiPort, sans: apiSans(ctx, config) },
      ...(storage === undefined || storage === 'etcd' ? { storage: { etcd: { peerAddress: host.ip } } } : {}),
      ...(nodeLocalBalancing
        ? { network: { nodeLocalLoadBalancing: { enabled: true, type: 'EnvoyProxy' } } }
        : {}),
    },
  };
  return stringify(mergeObjects(config, required), { aliasDuplicateObjects: false });
}

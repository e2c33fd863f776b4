// Reading a `--config` file as kubeadm does: `---`-separated documents, each with apiVersion and kind, the
// kubeadm API versions this kubeadm minor accepts, strict field checks, and the component configs kept
// aside for the kubelet and kube-proxy.
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { KUBEADM_SCHEMAS, unknownFields } from './config-schema.js';

export class KubeadmError extends Error {}

export interface ConfigDocs {
  apiVersion: string;
  byKind: Map<string, KubeObject>;
  warnings: string[];
}

const SCHEME = 'k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31';
const OLD_APIS: Record<string, string> = {
  'kubeadm.k8s.io/v1alpha1': 'v1.11',
  'kubeadm.k8s.io/v1alpha2': 'v1.12',
  'kubeadm.k8s.io/v1alpha3': 'v1.14',
  'kubeadm.k8s.io/v1beta1': 'v1.15',
  'kubeadm.k8s.io/v1beta2': 'v1.22',
};
const COMPONENT_APIS = new Set(['kubelet.config.k8s.io/v1beta1', 'kubeproxy.config.k8s.io/v1alpha1']);

function gvk(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return `schema.GroupVersionKind{Group:"${group}", Version:"${version}", Kind:"${kind}"}`;
}

export function splitDocuments(text: string): string[] {
  return text
    .split(/^---[ \t]*$/m)
    .map((d) => d.trim())
    .filter((d) => d.replace(/^\s*#.*$/gm, '').trim() !== '');
}

/** Checks one kubeadm document for kubeadm 1.<minor>; returns a warning kubeadm would print, if any. */
function checkKubeadmDocument(doc: KubeObject, minor: number): string | undefined {
  const { apiVersion, kind } = doc as { apiVersion: string; kind: string };
  const old = OLD_APIS[apiVersion];
  if (old)
    throw new KubeadmError(
      `your configuration file uses an old API spec: "${apiVersion}" (kind: "${kind}"). Please use kubeadm ${old} instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.`,
    );
  const schemas = KUBEADM_SCHEMAS[apiVersion];
  const registered = apiVersion === 'kubeadm.k8s.io/v1beta4' ? minor >= 28 : schemas !== undefined;
  if (!registered || !schemas?.[kind])
    throw new KubeadmError(
      `no kind "${kind}" is registered for version "${apiVersion}" in scheme "${SCHEME}"`,
    );
  if (apiVersion === 'kubeadm.k8s.io/v1beta4' && minor < 31)
    throw new KubeadmError(
      `experimental API spec: "${apiVersion}" (kind: "${kind}") is not allowed. You can use the --allow-experimental-api flag if the command supports it.`,
    );
  const unknown = unknownFields(
    Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'apiVersion' && k !== 'kind')),
    schemas[kind],
  );
  if (unknown.length)
    throw new KubeadmError(
      `error unmarshaling configuration ${gvk(apiVersion, kind)}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`,
    );
  if (apiVersion === 'kubeadm.k8s.io/v1beta3' && minor >= 31)
    return `your configuration file uses a deprecated API spec: "${apiVersion}" (kind: "${kind}"). Please use 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.`;
  return undefined;
}

/** Parses and checks a config file's text for kubeadm 1.<minor>. */
export function loadConfigDocs(text: string, minor: number): ConfigDocs {
  const byKind = new Map<string, KubeObject>();
  const warnings: string[] = [];
  let apiVersion = '';
  for (const raw of splitDocuments(text)) {
    let doc: unknown;
    try {
      doc = parseYamlSubset(raw);
    } catch (e) {
      throw new KubeadmError(`error converting YAML to JSON: ${(e as Error).message}`);
    }
    const d = (doc ?? {}) as KubeObject;
    if (typeof d.apiVersion !== 'string' || typeof d.kind !== 'string' || !d.apiVersion || !d.kind)
      throw new KubeadmError(
        `invalid configuration for GroupVersionKind ${gvk(String(d.apiVersion ?? ''), String(d.kind ?? ''))}: kind and apiVersion is mandatory information that must be specified`,
      );
    if (byKind.has(d.kind))
      throw new KubeadmError(`invalid configuration: kind "${d.kind}" is specified twice in YAML file`);
    if (d.apiVersion.startsWith('kubeadm.k8s.io/')) {
      const w = checkKubeadmDocument(d, minor);
      if (w) warnings.push(w);
      apiVersion = d.apiVersion;
    } else if (!COMPONENT_APIS.has(d.apiVersion)) {
      warnings.push(
        `[config] WARNING: Ignored YAML document with GroupVersionKind ${gvk(d.apiVersion, d.kind)}`,
      );
      continue;
    }
    byKind.set(d.kind, d);
  }
  return { apiVersion, byKind, warnings };
}

/** A component's extra args as a flag map, from v1beta3's map or v1beta4's `{name, value}` list. */
export function extraArgs(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value)) {
    for (const a of value as Array<{ name?: unknown; value?: unknown }>)
      if (typeof a?.name === 'string') out.set(a.name, String(a.value ?? ''));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.set(k, String(v ?? ''));
  }
  return out;
}

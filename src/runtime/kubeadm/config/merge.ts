import { isMapping, type Mapping } from '../../../util/mapping.js';

// Lays one kubeadm document over another of the same kind, field by field. Lists of named entries (v1beta4
// extraArgs, extraVolumes, extraEnvs) merge by name, the later layer's entry replacing the earlier's;
// certSANs add up, since each layer names hosts the certificate must also cover; other lists replace.

const namedLists = new Set(['extraArgs', 'kubeletExtraArgs', 'extraVolumes', 'extraEnvs']);
const unionLists = new Set(['certSANs', 'serverCertSANs', 'peerCertSANs', 'excludeCIDRs']);

function nameOf(entry: unknown): unknown {
  return isMapping(entry) ? entry.name : undefined;
}

function mergeValue(key: string, under: unknown, over: unknown): unknown {
  if (over === undefined) return structuredClone(under);
  if (isMapping(under) && isMapping(over)) return mergeObjects(under, over);
  if (Array.isArray(under) && Array.isArray(over)) {
    if (unionLists.has(key)) return [...new Set([...under, ...over].map((x) => structuredClone(x)))];
    if (namedLists.has(key) && [...under, ...over].every((e) => typeof nameOf(e) === 'string')) {
      const names = new Set(over.map(nameOf));
      return [...under.filter((e) => !names.has(nameOf(e))), ...over].map((e) => structuredClone(e));
    }
  }
  return structuredClone(over);
}

/** A new object: `under` with every field of `over` laid on it. */
export function mergeObjects(under: Mapping, over: Mapping): Mapping {
  const out: Mapping = structuredClone(under);
  for (const [key, value] of Object.entries(over)) out[key] = mergeValue(key, under[key], value);
  return out;
}

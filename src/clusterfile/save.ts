import { Document } from 'yaml';
import { writeFileAtomic } from '../util/atomic.js';
import { berthPath } from '../util/paths.js';
import { encryptSecret, isEncrypted } from '../util/secrets.js';
import type { ConfigDoc, DistributionDoc } from './documents.js';
import { isPureReference } from './env-refs.js';
import type { Cluster } from './schema.js';
import {
  getPath,
  secretEnvPaths,
  secretKeys,
  setPath,
  splitEnvEntry,
  sshFieldPaths,
} from './secret-fields.js';

export type ExtraDoc = ConfigDoc | DistributionDoc | Record<string, unknown>;

/** Where berth keeps its copy of a cluster's Clusterfile. */
export function stateClusterfilePath(clusterName: string): string {
  return berthPath(clusterName, 'Clusterfile');
}

function isDistributionDoc(doc: ExtraDoc): doc is DistributionDoc {
  return 'distribution' in doc && 'object' in doc && typeof doc.object === 'object';
}

/**
 * Replaces each password, passphrase and key in a copy of the cluster with `mapSecret(value, path)`;
 * `${VAR}` references are kept as written, since they hold no secret.
 */
export function mapSecrets(
  cluster: Cluster,
  mapSecret: (value: string, path: Array<string | number>) => string,
): Cluster {
  const copy = structuredClone(cluster);
  for (const path of sshFieldPaths(copy, secretKeys)) {
    const value = getPath(copy, path) as string;
    if (!isPureReference(value)) setPath(copy, path, mapSecret(value, path));
  }
  return copy;
}

/** Multi-document YAML of the cluster followed by the extra documents, as given (no secret handling). */
export function stringifyClusterfile(cluster: Cluster, extraDocs: readonly ExtraDoc[] = []): string {
  const objects = [cluster, ...extraDocs.map((d) => (isDistributionDoc(d) ? d.object : d))];
  return objects.map((o) => new Document(o).toString({ lineWidth: 0 })).join('---\n');
}

/**
 * Writes a Clusterfile atomically with mode 0600. Every password, passphrase and inline key, and the
 * value of every secret env entry, is encrypted (encryptSecret) so the file holds no plain credentials;
 * loadClusterfile decrypts them.
 */
export async function saveClusterfile(
  path: string,
  cluster: Cluster,
  extraDocs: readonly ExtraDoc[] = [],
): Promise<void> {
  const sealed = mapSecrets(cluster, (v) => (isEncrypted(v) ? v : encryptSecret(v)));
  for (const p of secretEnvPaths(sealed)) {
    const { key, value } = splitEnvEntry(getPath(sealed, p) as string);
    if (value && !isPureReference(value) && !isEncrypted(value))
      setPath(sealed, p, `${key}=${encryptSecret(value)}`);
  }
  await writeFileAtomic(path, stringifyClusterfile(sealed, extraDocs), 0o600);
}

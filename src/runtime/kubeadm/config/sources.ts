import { LineCounter, parseAllDocuments } from 'yaml';
import { type DistributionDoc, distributionKinds } from '../../../clusterfile/documents.js';
import { fieldLines, formatPath } from '../../../clusterfile/positions.js';
import { InputError } from '../../../util/errors.js';
import { documentValue } from '../../../util/yaml-value.js';

// Every kubeadm document berth merges, whether from the image's etc/kubeadm.yml or the Clusterfile, as a
// DistributionDoc: its object and where each of its fields was written.

/** How messages name the image's default config file. */
export const imageConfigFile = 'image:etc/kubeadm.yml';

/** Kinds a v1beta4 kubeadm.yml may carry that `init` and `join` do not read. */
const otherKubeadmKinds = new Set(['ResetConfiguration', 'UpgradeConfiguration']);

/** The documents of the image's kubeadm.yml (multi-document YAML), with their lines. */
export function imageDocuments(text: string | undefined): DistributionDoc[] {
  if (!text?.trim()) return [];
  const lines = new LineCounter();
  const out: DistributionDoc[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter: lines })) {
    const syntax = doc.errors[0];
    if (syntax) {
      const at = syntax.linePos?.[0].line;
      throw new InputError(
        `${imageConfigFile}${at ? `:${at}` : ''}: YAML syntax: ${syntax.message.split('\n')[0]}`,
      );
    }
    if (doc.contents === null) continue;
    const line = doc.contents.range ? lines.linePos(doc.contents.range[0]).line : 1;
    const where = `${imageConfigFile}:${line}`;
    const raw = documentValue(doc, where);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new InputError(`${where}: a document must be a mapping with apiVersion and kind`);
    }
    const object = raw as Record<string, unknown>;
    const kind = String(object.kind ?? '');
    if (otherKubeadmKinds.has(kind)) continue;
    const known = distributionKinds[kind];
    if (known?.distribution !== 'kubeadm') {
      throw new InputError(
        `${where}: kind ${JSON.stringify(object.kind ?? null)} is not a kubeadm config kind (InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration, KubeProxyConfiguration)`,
      );
    }
    out.push({
      kind,
      apiVersion: String(object.apiVersion ?? ''),
      distribution: 'kubeadm',
      object,
      file: imageConfigFile,
      line,
      fieldLines: fieldLines(doc, lines),
    });
  }
  return out;
}

/** `file:line` of the deepest field of `path` the document wrote (its first line when none). */
export function whereIs(doc: DistributionDoc, path: readonly PropertyKey[] = []): string {
  for (let n = path.length; n > 0; n--) {
    const line = doc.fieldLines?.[formatPath(path.slice(0, n))];
    if (line !== undefined) return `${doc.file}:${line}`;
  }
  return `${doc.file}:${doc.line}`;
}

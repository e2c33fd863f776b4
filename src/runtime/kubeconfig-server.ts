import { isSeq, parseDocument } from 'yaml';
import { InputError } from '../util/errors.js';
import type { ClusterHost, KubeconfigSource } from './types.js';

// A kubeconfig fetched from a master names the API as the master sees it (127.0.0.1, or
// apiserver.cluster.local through its /etc/hosts); berth's copy must name an address this machine reaches.

/** `content` with every cluster's server set to `url`; `source` names the file for the error. */
export function withServer(content: string, url: string, source: string): string {
  const doc = parseDocument(content);
  const clusters = doc.get('clusters');
  if (!isSeq(clusters) || clusters.items.length === 0) {
    throw new InputError(`${source} names no cluster to point at ${url}`);
  }
  clusters.items.forEach((_, i) => {
    doc.setIn(['clusters', i, 'cluster', 'server'], url);
  });
  return doc.toString();
}

/** The kubeconfig at `remotePath` on `master` (`what` names it in errors), pointed at that master's API. */
export function masterKubeconfig(
  master: ClusterHost,
  apiPort: number,
  remotePath: string,
  what = remotePath,
): KubeconfigSource {
  const url = `https://${master.ip}:${apiPort}`;
  return { remotePath, rewrite: (content) => withServer(content, url, `${what} on ${master.ip}`) };
}

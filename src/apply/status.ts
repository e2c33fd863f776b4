import { readFile } from 'node:fs/promises';
import { splitAddress } from '../clusterfile/index.js';
import { errorMessage, NotFoundError } from '../util/errors.js';
import { listNodes, type NodeState } from './kube.js';
import { clusterPaths, loadApplied } from './state.js';

// status and kubeconfig: what berth knows of an applied cluster, and what its API says of the nodes.

export interface ClusterStatusReport {
  name: string;
  phase: string;
  images: string[];
  kubeconfig: string;
  hosts: Array<{ ip: string; roles: string[]; node?: string; ready?: boolean; version?: string }>;
  apiError?: string;
}

export async function clusterStatus(name: string): Promise<ClusterStatusReport> {
  const loaded = await loadApplied(name);
  if (!loaded) throw new NotFoundError(`cluster ${name} does not exist`);
  const paths = clusterPaths(name);
  let nodes: NodeState[] = [];
  let apiError: string | undefined;
  try {
    nodes = await listNodes(await readFile(paths.kubeconfig, 'utf8'));
  } catch (err) {
    apiError = errorMessage(err);
  }
  const hosts = loaded.cluster.spec.hosts.flatMap((h) =>
    h.ips.map((a) => {
      const ip = splitAddress(a).ip;
      const node = nodes.find((n) => n.internalIp === ip);
      return {
        ip,
        roles: h.roles,
        node: node?.name,
        ready: node ? node.ready : undefined,
        version: node?.version,
      };
    }),
  );
  return {
    name,
    phase: loaded.cluster.status?.phase ?? 'unknown',
    images: loaded.cluster.spec.image,
    kubeconfig: paths.kubeconfig,
    hosts,
    apiError,
  };
}

export async function kubeconfigOf(name: string): Promise<{ path: string; text: string }> {
  const path = clusterPaths(name).kubeconfig;
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch {
    throw new NotFoundError(`cluster ${name} has no kubeconfig yet (${path}); apply it first`);
  }
}

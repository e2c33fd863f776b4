import { readFile } from 'node:fs/promises';
import {
  type Cluster,
  expandAddressList,
  type LoadedClusterfile,
  resolveHosts,
  splitAddress,
} from '../clusterfile/index.js';
import { errorMessage, NotFoundError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { applyCluster, type ClusterOptions, loadApplied } from './cluster.js';
import { listNodes, type NodeState } from './kube.js';
import { clusterPaths } from './state.js';

// The cluster commands as functions of the layers below: run, apply, add, delete, status, kubeconfig.

export async function applyLoaded(loaded: LoadedClusterfile, options: ClusterOptions): Promise<void> {
  const start = Date.now();
  const reports = await applyCluster(loaded, options);
  if (options.dryRun) return;
  const ran = reports.filter((r) => r.outcome === 'ran').length;
  log.info(
    `cluster ${loaded.cluster.metadata.name} applied in ${((Date.now() - start) / 1000).toFixed(1)} s (${ran} phase(s) had work)`,
  );
  log.info(`kubeconfig: ${clusterPaths(loaded.cluster.metadata.name).kubeconfig}`);
}

export function runApply(cluster: Cluster, options: ClusterOptions): Promise<void> {
  return applyLoaded({ file: 'command line', cluster, configs: [], distributionDocs: [] }, options);
}

async function applied(name: string): Promise<LoadedClusterfile> {
  const loaded = await loadApplied(name);
  if (!loaded)
    throw new NotFoundError(`cluster ${name} does not exist; create it with berth run or berth apply`);
  return loaded;
}

function addressesOf(flag: string, text: string | undefined): string[] {
  if (!text) return [];
  try {
    return expandAddressList(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${errorMessage(err)}`);
  }
}

/** `berth add`: the applied cluster with more hosts, applied. */
export async function addHosts(
  name: string,
  mastersText: string | undefined,
  nodesText: string | undefined,
  options: ClusterOptions,
): Promise<void> {
  const loaded = await applied(name);
  const newMasters = addressesOf('--masters', mastersText);
  const newNodes = addressesOf('--nodes', nodesText);
  if (newMasters.length + newNodes.length === 0)
    throw new UsageError('say which hosts to add: --masters IPS and/or --nodes IPS');
  const present = new Set(resolveHosts(loaded.cluster).map((h) => h.ip));
  for (const a of [...newMasters, ...newNodes]) {
    if (present.has(splitAddress(a).ip))
      throw new UsageError(`${splitAddress(a).ip} is already in cluster ${name}`);
  }
  const hosts = [...loaded.cluster.spec.hosts];
  if (newMasters.length) hosts.push({ ips: newMasters, roles: ['master'] });
  if (newNodes.length) hosts.push({ ips: newNodes, roles: ['node'] });
  await applyLoaded(
    { ...loaded, cluster: { ...loaded.cluster, spec: { ...loaded.cluster.spec, hosts } } },
    options,
  );
}

/** `berth delete`: the applied cluster without the given hosts, applied (they are drained, removed, reset). */
export async function deleteHosts(
  name: string,
  mastersText: string | undefined,
  nodesText: string | undefined,
  options: ClusterOptions,
): Promise<void> {
  const loaded = await applied(name);
  const gone = new Set(
    [...addressesOf('--masters', mastersText), ...addressesOf('--nodes', nodesText)].map(
      (a) => splitAddress(a).ip,
    ),
  );
  if (gone.size === 0) throw new UsageError('say which hosts to delete: --masters IPS and/or --nodes IPS');
  const present = resolveHosts(loaded.cluster);
  for (const ip of gone) {
    if (!present.some((h) => h.ip === ip)) throw new UsageError(`${ip} is not in cluster ${name}`);
  }
  const hosts = loaded.cluster.spec.hosts
    .map((h) => ({ ...h, ips: h.ips.filter((a) => !gone.has(splitAddress(a).ip)) }))
    .filter((h) => h.ips.length > 0);
  await applyLoaded(
    { ...loaded, cluster: { ...loaded.cluster, spec: { ...loaded.cluster.spec, hosts } } },
    options,
  );
}

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

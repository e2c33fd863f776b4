import { stringify } from 'yaml';
import { isMapping, type Mapping } from '../../../util/mapping.js';
import type { ClusterHost } from '../../types.js';
import type { TargetApi } from './api-version.js';
import { argsList } from './convert.js';

// The per-host parts of the kubeadm documents, laid over the merged cluster-wide ones: the node's name,
// CRI socket and addresses from the host facts, the token and CA hash of a join.

export const defaultCriSocket = 'unix:///run/containerd/containerd.sock';
export const defaultCgroupDriver = 'systemd';

export function criSocketOf(host: ClusterHost): string {
  const socket = host.criSocket ?? defaultCriSocket;
  return socket.includes('://') ? socket : `unix://${socket}`;
}

/** Sets kubelet flags the user did not set, in the API's form (a mapping, or v1beta4's {name, value} list). */
function withKubeletArgs(api: TargetApi, current: unknown, add: Record<string, string>): unknown {
  if (api === 'v1beta3') {
    const args: Mapping = isMapping(current) ? { ...current } : {};
    for (const [name, value] of Object.entries(add)) if (!(name in args)) args[name] = value;
    return args;
  }
  const list = Array.isArray(current) ? [...current] : [];
  const named = new Set(list.map((e) => (isMapping(e) ? e.name : undefined)));
  for (const e of argsList(add)) if (!named.has(e.name)) list.push(e);
  return list;
}

export interface NodeFacts {
  api: TargetApi;
  host: ClusterHost;
  /** The cluster's kubelet cgroup driver (KubeletConfiguration); a host that differs gets the flag. */
  clusterCgroupDriver: string;
}

/**
 * The Node name of a host: its hostname lower-cased as kubeadm does, or its address when the facts have no
 * hostname, so that the certificates made for it and the Node kubeadm registers carry the same name.
 */
export function nodeName(host: Pick<ClusterHost, 'ip' | 'hostname'>): string {
  return (host.hostname || host.ip).toLowerCase();
}

/** nodeRegistration of `host` over the merged one. */
export function nodeRegistration(merged: unknown, facts: NodeFacts): Mapping {
  const { api, host } = facts;
  const reg: Mapping = isMapping(merged) ? structuredClone(merged) : {};
  reg.name = nodeName(host);
  reg.criSocket = criSocketOf(host);
  const args: Record<string, string> = { 'node-ip': host.ip };
  const driver = host.cgroupDriver ?? defaultCgroupDriver;
  if (driver !== facts.clusterCgroupDriver) args['cgroup-driver'] = driver;
  reg.kubeletExtraArgs = withKubeletArgs(api, reg.kubeletExtraArgs, args);
  return reg;
}

export function yamlDocuments(docs: Mapping[]): string {
  return docs.map((d) => stringify(d, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n');
}

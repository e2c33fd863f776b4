import {
  expandAddressList,
  type LoadedClusterfile,
  resolveHosts,
  splitAddress,
} from '../clusterfile/index.js';
import { errorMessage, NotFoundError, UsageError } from '../util/errors.js';
import { applyLoaded, type ClusterOptions } from './apply-cluster.js';
import { loadApplied } from './state.js';

// add and delete: the applied cluster with more or fewer hosts, applied. Removing hosts is the apply's
// "remove departed hosts" phase: they are drained, deleted and reset.

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

type HostGroups = LoadedClusterfile['cluster']['spec']['hosts'];

/**
 * The one edit behind add and delete: the applied cluster with its host groups changed by `edit`, which
 * also gets the addresses named by --masters and --nodes; then applied.
 */
async function applyEdited(
  name: string,
  flags: { masters?: string; nodes?: string },
  edit: Edit,
  options: ClusterOptions,
): Promise<void> {
  const loaded = await applied(name);
  const named = {
    masters: addressesOf('--masters', flags.masters),
    nodes: addressesOf('--nodes', flags.nodes),
  };
  const present = new Map(resolveHosts(loaded.cluster).map((h) => [h.ip, h.roles]));
  const unfinished = loaded.cluster.status?.phase !== 'ClusterSuccess';
  const hosts = edit(loaded.cluster.spec.hosts, named, { present, unfinished });
  await applyLoaded(
    { ...loaded, cluster: { ...loaded.cluster, spec: { ...loaded.cluster.spec, hosts } } },
    options,
  );
}

/** The applied cluster's hosts with their roles, and whether its last apply stopped before the end. */
export interface Applied {
  present: Map<string, readonly string[]>;
  unfinished: boolean;
}

type Edit = (
  hosts: HostGroups,
  named: { masters: string[]; nodes: string[] },
  applied: Applied,
) => HostGroups;

/** A scale command: the applied cluster named `name`, with its hosts changed by `edit(name)`, applied. */
function scaleCommand(edit: (name: string) => Edit) {
  return (name: string, masters: string | undefined, nodes: string | undefined, options: ClusterOptions) =>
    applyEdited(name, { masters, nodes }, edit(name), options);
}

/**
 * `berth add`'s edit: the named hosts appended as groups of their role. A host already in the cluster is
 * refused, unless the last apply stopped before the end (killed, failed) with it in that role: that was
 * this add, interrupted, and running it again resumes it.
 */
export const addEdit =
  (name: string): Edit =>
  (hosts, named, { present, unfinished }) => {
    if (named.masters.length + named.nodes.length === 0)
      throw new UsageError('say which hosts to add: --masters IPS and/or --nodes IPS');
    const fresh = (list: string[], role: 'master' | 'node') =>
      list.filter((a) => {
        const ip = splitAddress(a).ip;
        const roles = present.get(ip);
        if (!roles) return true;
        if (unfinished && roles.includes(role)) return false;
        throw new UsageError(`${ip} is already in cluster ${name}`);
      });
    const masters = fresh(named.masters, 'master');
    const nodes = fresh(named.nodes, 'node');
    return [
      ...hosts,
      ...(masters.length ? [{ ips: masters, roles: ['master' as const] }] : []),
      ...(nodes.length ? [{ ips: nodes, roles: ['node' as const] }] : []),
    ];
  };

/** `berth add`: the applied cluster with more hosts, applied. */
export const addHosts = scaleCommand(addEdit);

/** `berth delete`: the applied cluster without the given hosts, applied (they are drained, removed, reset). */
export const deleteHosts = scaleCommand((name) => (hosts, named, { present }) => {
  const gone = new Set([...named.masters, ...named.nodes].map((a) => splitAddress(a).ip));
  if (gone.size === 0) throw new UsageError('say which hosts to delete: --masters IPS and/or --nodes IPS');
  for (const ip of gone) if (!present.has(ip)) throw new UsageError(`${ip} is not in cluster ${name}`);
  return hosts
    .map((h) => ({ ...h, ips: h.ips.filter((a) => !gone.has(splitAddress(a).ip)) }))
    .filter((h) => h.ips.length > 0);
});

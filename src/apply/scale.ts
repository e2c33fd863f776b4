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
  const present = new Set(resolveHosts(loaded.cluster).map((h) => h.ip));
  const hosts = edit(loaded.cluster.spec.hosts, named, present);
  await applyLoaded(
    { ...loaded, cluster: { ...loaded.cluster, spec: { ...loaded.cluster.spec, hosts } } },
    options,
  );
}

type Edit = (
  hosts: HostGroups,
  named: { masters: string[]; nodes: string[] },
  present: Set<string>,
) => HostGroups;

/** A scale command: the applied cluster named `name`, with its hosts changed by `edit(name)`, applied. */
function scaleCommand(edit: (name: string) => Edit) {
  return (name: string, masters: string | undefined, nodes: string | undefined, options: ClusterOptions) =>
    applyEdited(name, { masters, nodes }, edit(name), options);
}

/** `berth add`: the applied cluster with more hosts, applied. */
export const addHosts = scaleCommand((name) => (hosts, named, present) => {
  if (named.masters.length + named.nodes.length === 0)
    throw new UsageError('say which hosts to add: --masters IPS and/or --nodes IPS');
  for (const a of [...named.masters, ...named.nodes]) {
    if (present.has(splitAddress(a).ip))
      throw new UsageError(`${splitAddress(a).ip} is already in cluster ${name}`);
  }
  return [
    ...hosts,
    ...(named.masters.length ? [{ ips: named.masters, roles: ['master' as const] }] : []),
    ...(named.nodes.length ? [{ ips: named.nodes, roles: ['node' as const] }] : []),
  ];
});

/** `berth delete`: the applied cluster without the given hosts, applied (they are drained, removed, reset). */
export const deleteHosts = scaleCommand((name) => (hosts, named, present) => {
  const gone = new Set([...named.masters, ...named.nodes].map((a) => splitAddress(a).ip));
  if (gone.size === 0) throw new UsageError('say which hosts to delete: --masters IPS and/or --nodes IPS');
  for (const ip of gone) if (!present.has(ip)) throw new UsageError(`${ip} is not in cluster ${name}`);
  return hosts
    .map((h) => ({ ...h, ips: h.ips.filter((a) => !gone.has(splitAddress(a).ip)) }))
    .filter((h) => h.ips.length > 0);
});

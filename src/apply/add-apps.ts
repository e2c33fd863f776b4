import { type Cluster, withAppCommands } from '../clusterfile/index.js';
import { parseReference, repositoryName } from '../image/reference.js';
import { NotFoundError } from '../util/errors.js';
import { applyLoaded, type ClusterOptions } from './apply-cluster.js';
import { loadApplied } from './state.js';

// `berth run APP... --cluster C` without hosts: the applications join the applied cluster's image list
// and the cluster is applied again. Only what changed runs: the rootfs is keyed without the apps, and each
// app's CMD is journaled by its image name and content.

export interface AddAppsInput {
  images: readonly string[];
  /** KEY=VALUE entries for spec.env (a key given again replaces the old value). */
  env: readonly string[];
  /** Replaces the CMD of the application images named here. */
  command?: string;
}

/** `list` with each of `refs` in it: the same reference is kept, the same image name is replaced in place. */
export function withImages(list: readonly string[], refs: readonly string[]): string[] {
  const out = [...list];
  const nameOf = (ref: string) => repositoryName(parseReference(ref));
  for (const ref of refs) {
    if (out.includes(ref)) continue;
    const same = out.findIndex((r) => nameOf(r) === nameOf(ref));
    if (same >= 0) out[same] = ref;
    else out.push(ref);
  }
  return out;
}

/** `env` entries with `extra` laid over them, key by key. */
export function withEnv(env: readonly string[], extra: readonly string[]): string[] {
  const key = (e: string) => e.slice(0, e.indexOf('='));
  const keys = new Set(extra.map(key));
  return [...env.filter((e) => !keys.has(key(e))), ...extra];
}

export function clusterWithApps(cluster: Cluster, input: AddAppsInput): Cluster {
  const env = withEnv(cluster.spec.env ?? [], input.env);
  const next: Cluster = {
    ...cluster,
    spec: {
      ...cluster.spec,
      image: withImages(cluster.spec.image, input.images),
      ...(env.length > 0 ? { env } : {}),
    },
  };
  if (input.command === undefined) return next;
  const names = input.images.map((r) => repositoryName(parseReference(r)));
  return withAppCommands(next, names, input.command);
}

export async function addApps(name: string, input: AddAppsInput, options: ClusterOptions): Promise<void> {
  const loaded = await loadApplied(name);
  if (!loaded)
    throw new NotFoundError(
      `cluster ${name} does not exist; give --masters (or --sandbox) to install it with these images`,
    );
  await applyLoaded({ ...loaded, cluster: clusterWithApps(loaded.cluster, input) }, options);
}

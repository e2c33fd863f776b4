import { InputError } from '../util/errors.js';
import type { Cluster } from './schema.js';

// `berth run APP --cmd X` on an applied cluster replaces that application's CMD for good: the override is
// kept in the Clusterfile, as one annotation of image name -> command, so that every later apply runs the
// same command (spec.command stays what sealos makes it, the command of the cluster's own images).

export const appCommandsAnnotation = 'berth.dev/app-commands';

function annotations(cluster: Cluster): Record<string, string> {
  const a = (cluster.metadata as { annotations?: unknown }).annotations;
  return a && typeof a === 'object' ? (a as Record<string, string>) : {};
}

/** The CMD overrides of the cluster's application images, by image name. */
export function appCommands(cluster: Cluster): Record<string, string> {
  const text = annotations(cluster)[appCommandsAnnotation];
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const entries = Object.entries(parsed as Record<string, unknown>);
      if (entries.every(([, v]) => typeof v === 'string')) return parsed as Record<string, string>;
    }
  } catch {
    // reported below
  }
  throw new InputError(
    `metadata.annotations.${appCommandsAnnotation}: must be a JSON object of image name to command`,
  );
}

/** `cluster` with the CMD of the application images `names` replaced by `command`. */
export function withAppCommands(cluster: Cluster, names: readonly string[], command: string): Cluster {
  const commands = { ...appCommands(cluster) };
  for (const n of names) commands[n] = command;
  return {
    ...cluster,
    metadata: {
      ...cluster.metadata,
      annotations: { ...annotations(cluster), [appCommandsAnnotation]: JSON.stringify(commands) },
    },
  };
}

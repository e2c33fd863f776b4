import type { ResolvedHost } from '../clusterfile/index.js';
import type { HostAction } from '../host/action.js';
import { removeHostsEntries } from '../host/etc-hosts.js';
import { removeService } from '../host/services.js';
import { containerdMirrorFiles } from '../registry/mirrors.js';
import { registryServiceName } from '../registry/server.js';
import { shellQuote } from '../util/shell.js';
import { clusterHost, type PlannedCluster } from './planned-cluster.js';

// What undoes berth's own pieces on a host, after the distribution driver undid its own: the registry
// service, the runtime mirror files, the /etc/hosts names, and the cluster's directory. Directories are
// removed only when empty, so nothing that was there before berth is touched.

export function berthResetAction(c: PlannedCluster): HostAction {
  const registry = c.runtimeCtx.registry;
  const mirrorFiles = containerdMirrorFiles(registry).map((f) => f.path);
  const dirs = [...new Set(mirrorFiles.map((p) => p.slice(0, p.lastIndexOf('/'))))];
  return {
    description: 'remove the cluster registry, mirrors and cluster files',
    commands: [
      ...removeService(registryServiceName),
      `rm -f ${mirrorFiles.map(shellQuote).join(' ')}`,
      `rmdir ${dirs.map(shellQuote).join(' ')} /etc/containerd/certs.d /etc/containerd 2>/dev/null || :`,
      removeHostsEntries(registry.domain),
      `rm -rf ${shellQuote(c.remoteDir)}`,
      'rmdir /var/lib/berth /etc/berth 2>/dev/null || :',
    ],
  };
}

/** The driver's reset of `host`, described with the paths it removes. */
export function driverResetAction(c: PlannedCluster, host: ResolvedHost): HostAction {
  const driver = c.runtime.reset(c.runtimeCtx, clusterHost(c.facts, host));
  return {
    ...driver,
    description: `reset ${host.ip} (${c.runtime.name} removes ${c.runtime.defaults.resetPaths.join(' ')})`,
  };
}

/** Everything that returns `host` to how it was before berth: the driver's reset, then berth's. */
export function resetHostAction(c: PlannedCluster, host: ResolvedHost): HostAction {
  const driver = driverResetAction(c, host);
  const own = berthResetAction(c);
  return {
    description: driver.description,
    files: driver.files,
    commands: [...(driver.commands ?? []), ...(own.commands ?? [])],
    secrets: driver.secrets,
  };
}

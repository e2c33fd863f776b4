import type { HostAction } from '../../host/action.js';
import { setHostsEntry } from '../../host/etc-hosts.js';
import { labelValue } from '../../image/contract.js';
import { registryServerAction } from '../../registry/config.js';
import { containerdMirrorFiles, mirrorSecrets } from '../../registry/mirrors.js';
import {
  type ApplyContext,
  remoteClusterDir,
  remoteRootfs,
  requireImages,
  requireRuntime,
} from '../context.js';
import { onHosts, runStep, stepPending } from '../host-run.js';
import type { Phase } from '../phase.js';

// The cluster registry serves every image the cluster needs from the rootfs' registry/ directory on the
// registry hosts; every host resolves the registry name to it and its container runtime pulls
// registry.k8s.io/..., docker.io/..., quay.io/..., ghcr.io/... through it, so no manifest needs changing.

/** The htpasswd line is salted afresh each time; the step's identity is its settings, not its bytes. */
function registryInputs(ctx: ApplyContext): unknown {
  return { registry: requireRuntime(ctx).rctx.registry, key: requireImages(ctx).key };
}

function registryAction(ctx: ApplyContext): HostAction {
  const { rctx } = requireRuntime(ctx);
  return registryServerAction({
    rootfsDir: remoteRootfs(ctx.name),
    dataDir: `${remoteRootfs(ctx.name)}/registry`,
    configDir: `${remoteClusterDir(ctx.name)}/registry-config`,
    port: rctx.registry.port,
    username: rctx.registry.username,
    password: rctx.registry.password,
  });
}

/** Images that bring their own init-registry hook start their registry themselves (sealos contract). */
function imageStartsRegistry(ctx: ApplyContext): boolean {
  return requireImages(ctx).images.some(
    (i) => i.type !== 'application' && labelValue(i.labels, 'init-registry'),
  );
}

function mirrorsAction(ctx: ApplyContext): HostAction {
  const { rctx } = requireRuntime(ctx);
  return {
    description: `resolve ${rctx.registry.domain} to ${rctx.registry.hostIp} and mirror public registries through it`,
    files: containerdMirrorFiles(rctx.registry),
    commands: [setHostsEntry(rctx.registry.hostIp, rctx.registry.domain)],
    secrets: mirrorSecrets(rctx.registry),
  };
}

export const startRegistry: Phase<ApplyContext> = {
  title: 'start the cluster registry',
  shouldRun(ctx) {
    const inputs = registryInputs(ctx);
    return (
      !imageStartsRegistry(ctx) && ctx.registryHosts.some((h) => stepPending(ctx, h, 'registry', inputs))
    );
  },
  dryRun: (ctx) => ctx.registryHosts.map((h) => `${h.ip}: ${registryAction(ctx).description}`),
  async run(ctx) {
    const action = registryAction(ctx);
    const inputs = registryInputs(ctx);
    await onHosts(ctx, ctx.registryHosts, (h) => runStep(ctx, h, 'registry', action, inputs));
  },
};

export const configureMirrors: Phase<ApplyContext> = {
  title: 'point every host at the cluster registry',
  shouldRun(ctx) {
    const action = mirrorsAction(ctx);
    return ctx.hosts.some((h) => stepPending(ctx, h, 'mirrors', action));
  },
  dryRun: (ctx) =>
    ctx.hosts.map(
      (h) =>
        `${h.ip}: ${requireRuntime(ctx).rctx.registry.domain} -> ${requireRuntime(ctx).rctx.registry.hostIp} in /etc/hosts; containerd mirrors in /etc/containerd/certs.d`,
    ),
  async run(ctx) {
    const action = mirrorsAction(ctx);
    await onHosts(ctx, ctx.hosts, (h) => runStep(ctx, h, 'mirrors', action));
  },
};

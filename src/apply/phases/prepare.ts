import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedHost } from '../../clusterfile/index.js';
import { runtimeFor } from '../../runtime/index.js';
import type { ClusterHost } from '../../runtime/types.js';
import { prepareImages } from '../cluster-images.js';
import { type ApplyContext, remoteRootfs, requireImages } from '../context.js';
import { hostsPlatform } from '../facts.js';
import type { Phase } from '../phase.js';

// Mounts and merges the cluster's images on this machine, then chooses the distribution driver from the
// rootfs labels and builds the context it works with.

const defaultVip = '10.103.97.2';
/** Where rootfs images keep their k3s config defaults (sealos layout). */
const k3sConfigCandidates = ['etc/k3s.yml', 'etc/k3s.yaml', 'etc/config.yaml'];

async function imageDefaultConfig(rootfsDir: string): Promise<string | undefined> {
  for (const rel of k3sConfigCandidates) {
    const text = await readFile(join(rootfsDir, rel), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

export function clusterHost(ctx: ApplyContext, h: ResolvedHost): ClusterHost {
  return { ip: h.ip, hostname: ctx.facts.get(h.ip)?.hostname, roles: h.roles };
}

/** The driver and its context for the cluster whose rootfs labels and merged env are given. */
export function chooseRuntime(
  ctx: ApplyContext,
  labels: Record<string, string>,
  env: Record<string, string>,
  defaultConfig?: string,
): void {
  const runtime = runtimeFor(labels);
  const registryHost = ctx.registryHosts[0] ?? ctx.masters[0];
  ctx.runtime = runtime;
  ctx.runtimeCtx = {
    clusterName: ctx.name,
    rootfsDir: remoteRootfs(ctx.name),
    env,
    masters: ctx.masters.map((h) => clusterHost(ctx, h)),
    nodes: ctx.nodes.map((h) => clusterHost(ctx, h)),
    registry: {
      domain: env.registryDomain ?? 'sealos.hub',
      port: Number(env.registryPort ?? 5000),
      hostIp: registryHost?.ip ?? '',
      username: env.registryUsername ?? 'admin',
      password: env.registryPassword ?? ctx.secrets.registryPassword,
    },
    vip: labels.vip ?? env.defaultVIP ?? defaultVip,
    apiServerDomain: 'apiserver.cluster.local',
    apiPort: 6443,
    distributionConfig: ctx.loaded.distributionDocs
      .filter((d) => d.distribution === runtime.name)
      .map((d) => d.object),
    imageDefaultConfig: defaultConfig,
    secrets: { token: ctx.secrets.token, agentToken: ctx.secrets.agentToken },
  };
}

export const prepare: Phase<ApplyContext> = {
  title: 'mount and merge images',
  readOnly: true,
  shouldRun: () => true,
  dryRun: (ctx) => [
    `ensure ${ctx.loaded.cluster.spec.image.join(', ')} are in the local store (pull if not)`,
    'unpack rootfs and patch images into one tree, application images apart; render *.tmpl; apply Config patches',
  ],
  async run(ctx) {
    ctx.images = await prepareImages(ctx, hostsPlatform(ctx));
    const images = requireImages(ctx);
    chooseRuntime(ctx, images.labels, images.env, await imageDefaultConfig(images.rootfsDir));
  },
};

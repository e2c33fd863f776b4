import { access } from 'node:fs/promises';
import {
  type Cluster,
  envMap,
  type LoadedClusterfile,
  loadClusterfile,
  masters,
  nodes,
  type ResolvedHost,
  registryHosts,
  resolveHosts,
  saveClusterfile,
} from '../clusterfile/index.js';
import { mergeEnv } from '../image/contract.js';
import { ImageStore } from '../image/store.js';
import { SshPool } from '../ssh/index.js';
import { InputError, NotFoundError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { PreparedImages } from './cluster-images.js';
import type { ApplyContext, ApplyOptions } from './context.js';
import { gatherFacts } from './facts.js';
import { resetHostAction } from './host-reset.js';
import { onHosts, runAction } from './host-run.js';
import { Journal } from './journal.js';
import { type Phase, type PhaseReport, runPhases } from './phase.js';
import { distributeRootfs } from './phases/copy-rootfs.js';
import { initFirstMaster, joinMasters, joinNodes, syncBalancers } from './phases/distribution.js';
import { runImageCommands } from './phases/image-commands.js';
import { hookPhase } from './phases/image-hooks.js';
import { chooseRuntime, prepare } from './phases/prepare.js';
import { configureMirrors, startRegistry } from './phases/registry.js';
import { waitReady } from './phases/wait-ready.js';
import { clusterPaths, loadOrCreateSecrets, removeClusterState, withClusterLock } from './state.js';

// apply: make the hosts match the Clusterfile. Every phase checks the journal and the gathered facts
// before acting, so a first run, a resumed run after a failure or kill, a scale-up and a re-apply of an
// unchanged cluster are the same operation. Hosts that were in the applied cluster but are no longer in
// the Clusterfile are removed from the cluster and reset.

export interface ClusterOptions extends ApplyOptions {
  acceptNewHostKey?: boolean;
}

type ClusterMounts = NonNullable<NonNullable<Cluster['status']>['mounts']>;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The applied Clusterfile of a cluster, or undefined when berth never applied it. */
export async function loadApplied(name: string): Promise<LoadedClusterfile | undefined> {
  const path = clusterPaths(name).clusterfile;
  if (!(await exists(path))) return undefined;
  return loadClusterfile(path);
}

async function openContext(
  loaded: LoadedClusterfile,
  options: ClusterOptions,
  pool: SshPool,
): Promise<ApplyContext> {
  const name = loaded.cluster.metadata.name;
  const paths = clusterPaths(name);
  const hosts = resolveHosts(loaded.cluster);
  return {
    name,
    loaded,
    hosts,
    masters: masters(loaded.cluster),
    nodes: nodes(loaded.cluster),
    registryHosts: registryHosts(loaded.cluster),
    pool,
    journal: await Journal.open(paths.journal),
    secrets: await loadOrCreateSecrets(name),
    store: new ImageStore(),
    paths,
    options,
    facts: new Map(),
  };
}

function withStatus(
  ctx: ApplyContext,
  phase: 'ClusterInProcess' | 'ClusterSuccess' | 'ClusterFailed',
): Cluster {
  const cluster = ctx.loaded.cluster;
  const mounts = ctx.images?.images.map((i) => ({
    name: i.name,
    type: i.type,
    imageName: i.ref,
    env: i.env,
    labels: i.labels,
    cmd: i.config.config?.Cmd,
    entrypoint: i.config.config?.Entrypoint,
  }));
  return {
    ...cluster,
    status: {
      ...cluster.status,
      phase,
      ...(mounts ? { mounts } : {}),
      conditions: [
        {
          type: 'Applied',
          status: phase === 'ClusterSuccess' ? 'True' : 'False',
          lastHeartbeatTime: new Date().toISOString(),
        },
      ],
    },
  };
}

async function saveState(
  ctx: ApplyContext,
  phase: 'ClusterInProcess' | 'ClusterSuccess' | 'ClusterFailed',
): Promise<void> {
  const docs = [...ctx.loaded.configs, ...ctx.loaded.distributionDocs.map((d) => d.object)];
  await saveClusterfile(ctx.paths.clusterfile, withStatus(ctx, phase), docs);
}

/** Removes hosts that left the Clusterfile: drained and deleted through a remaining master, then reset. */
function removeDeparted(departed: ResolvedHost[]): Phase<ApplyContext> {
  return {
    title: 'remove departed hosts',
    shouldRun: () => departed.length > 0,
    dryRun: (ctx) => departed.map((h) => `${h.ip}: remove from cluster ${ctx.name} and reset`),
    async run(ctx) {
      const { runtime, rctx } = { runtime: ctx.runtime, rctx: ctx.runtimeCtx };
      if (!runtime || !rctx) return;
      const leaving = (roles: string[]) => departed.filter((h) => h.roles.some((r) => roles.includes(r)));
      const asCluster = (h: ResolvedHost) => ({ ip: h.ip, roles: h.roles });
      const steps = [
        ...runtime.deleteNodes(
          rctx,
          leaving(['node'])
            .filter((h) => !h.roles.includes('master'))
            .map(asCluster),
        ),
        ...runtime.deleteMasters(rctx, leaving(['master']).map(asCluster)),
      ];
      const byIp = new Map([...ctx.hosts, ...departed].map((h) => [h.ip, h]));
      // The driver's steps drain and delete the Node (run on a remaining master) and reset the host.
      for (const s of steps) {
        const host = byIp.get(s.host);
        if (host) await runAction(ctx, host, s);
      }
      // as in reset: the images' clean hook undoes what their init hook did, from the rootfs still there
      await hookPhase('clean', 'run the clean hook', () => departed)
        .run(ctx)
        .catch((err) => log.warn(`clean hook: ${(err as Error).message}`));
      await onHosts(ctx, departed, async (h) => {
        await runAction(ctx, h, resetHostAction(ctx, h));
        await ctx.journal.forgetHost(h.ip);
      });
    },
  };
}

/** The phases that only look: they connect to the hosts and prepare images here, changing no host. */
const inspectPhases: Phase<ApplyContext>[] = [gatherFacts, prepare];

function changePhases(departed: ResolvedHost[]): Phase<ApplyContext>[] {
  const everyHost = (ctx: ApplyContext) => ctx.hosts;
  return [
    distributeRootfs,
    hookPhase('check', 'run the check hook', everyHost),
    hookPhase('init-registry', 'run the init-registry hook', (ctx) => ctx.registryHosts),
    startRegistry,
    configureMirrors,
    hookPhase('init', 'run the init hook', everyHost),
    initFirstMaster,
    joinMasters,
    joinNodes,
    removeDeparted(departed),
    syncBalancers,
    waitReady,
    runImageCommands,
  ];
}

/** Makes the hosts match `loaded`; returns what each phase did. */
export async function applyCluster(
  loaded: LoadedClusterfile,
  options: ClusterOptions = {},
): Promise<PhaseReport[]> {
  const name = loaded.cluster.metadata.name;
  if (loaded.cluster.spec.hosts.length === 0)
    throw new InputError(`${loaded.file}: spec.hosts: needs at least one master`);
  return withClusterLock(name, async () => {
    const previous = await loadApplied(name);
    const pool = new SshPool({ acceptNewHostKey: options.acceptNewHostKey });
    try {
      const ctx = await openContext(loaded, options, pool);
      const wanted = new Set(ctx.hosts.map((h) => h.ip));
      const departed = previous ? resolveHosts(previous.cluster).filter((h) => !wanted.has(h.ip)) : [];
      if (departed.length > 0 && !ctx.masters.some((m) => !departed.some((d) => d.ip === m.ip))) {
        throw new InputError(
          `${loaded.file}: every master would be removed; use berth reset to remove the cluster`,
        );
      }
      const reports = await runPhases(inspectPhases, ctx, options).catch(async (err) => {
        // no host was changed: a cluster never applied before leaves no state behind
        if (!previous && !options.dryRun) await removeClusterState(name);
        throw err;
      });
      if (!options.dryRun) await saveState(ctx, 'ClusterInProcess');
      try {
        reports.push(...(await runPhases(changePhases(departed), ctx, options)));
        if (!options.dryRun) await saveState(ctx, 'ClusterSuccess');
        return reports;
      } catch (err) {
        if (!options.dryRun) await saveState(ctx, 'ClusterFailed').catch(() => undefined);
        throw err;
      }
    } finally {
      await pool.closeAll();
    }
  });
}

/**
 * Returns every host of an applied cluster to how it was before berth: the clean hook, the driver's reset,
 * berth's own pieces; then forgets the cluster locally.
 */
export async function resetCluster(name: string, options: ClusterOptions = {}): Promise<void> {
  await withClusterLock(name, async () => {
    const loaded = await loadApplied(name);
    if (!loaded)
      throw new NotFoundError(`cluster ${name} does not exist (no ${clusterPaths(name).clusterfile})`);
    const pool = new SshPool({ acceptNewHostKey: options.acceptNewHostKey });
    try {
      const ctx = await openContext(loaded, options, pool);
      await runPhases([gatherFacts], ctx, options);
      // The driver and env come from what the last apply recorded, so reset works without the images.
      const mounts = loaded.cluster.status?.mounts ?? [];
      const base = mounts.filter((m) => m.type !== 'application');
      const labels: Record<string, string> = Object.assign({}, ...base.map((m) => m.labels ?? {}));
      const env = mergeEnv(
        [{ registryPassword: ctx.secrets.registryPassword }, ...base.map((m) => m.env ?? {})],
        envMap(loaded.cluster),
      );
      chooseRuntime(ctx, labels, env);
      if (options.dryRun) {
        for (const h of ctx.hosts) log.out(`${h.ip}: ${resetHostAction(ctx, h).description}`);
        return;
      }
      const clean = hookPhase('clean', 'run the clean hook', (c) => c.hosts);
      ctx.images = recordedImages(ctx, base, env);
      await runPhases([clean], ctx, options).catch((err) =>
        log.warn(`clean hook: ${(err as Error).message}`),
      );
      await onHosts(ctx, ctx.hosts, (h) => runAction(ctx, h, resetHostAction(ctx, h)));
      await removeClusterState(name);
      log.info(`cluster ${name} reset on ${ctx.hosts.length} host(s)`);
    } finally {
      await pool.closeAll();
    }
  });
}

/**
 * The images as the last apply recorded them in the status (labels, env, commands), so that the clean hook
 * can run from the rootfs still on the hosts without the images being in the local store.
 */
function recordedImages(
  ctx: ApplyContext,
  mounts: ClusterMounts,
  env: Record<string, string>,
): PreparedImages {
  return {
    platform: { os: 'linux', architecture: ctx.facts.values().next().value?.arch ?? 'amd64' },
    key: '',
    rootfsDir: `${ctx.paths.dir}/rootfs`,
    images: mounts.map((m) => ({
      ref: m.imageName ?? m.name ?? '',
      name: m.name ?? '',
      type: m.type === 'patch' ? 'patch' : 'rootfs',
      manifestDigest: '',
      config: {
        architecture: '',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [] },
        config: { Cmd: m.cmd, Entrypoint: m.entrypoint, Labels: m.labels },
      },
      labels: m.labels ?? {},
      env: m.env ?? {},
    })),
    labels: Object.assign({}, ...mounts.map((m) => m.labels ?? {})),
    env,
    apps: [],
  };
}

import { type Cluster, type LoadedClusterfile, saveClusterfile, splitAddress } from '../clusterfile/index.js';
import { ImageStore } from '../image/store.js';
import { SshPool } from '../ssh/index.js';
import { InputError } from '../util/errors.js';
import { log } from '../util/log.js';
import { runPhases } from './engine.js';
import { checkHostsUnclaimed } from './host-claims.js';
import { sshRunner } from './host-run.js';
import { Journal } from './journal.js';
import type { ApplyOptions, Phase, PhaseReport } from './phase.js';
import { loadAppImages } from './phases/app-registry.js';
import { copyRootfs } from './phases/copy-rootfs.js';
import { initFirstMaster, joinMasters, joinNodes, syncBalancers } from './phases/distribution.js';
import { appStepId, runApplications, runRootfsCommand } from './phases/image-commands.js';
import { hookPhase } from './phases/image-hooks.js';
import { configureMirrors, startRegistry } from './phases/registry.js';
import { removeDeparted } from './phases/remove-departed.js';
import { upgradeHosts } from './phases/upgrade-hosts.js';
import { waitApplications } from './phases/wait-apps.js';
import { waitReady } from './phases/wait-ready.js';
import { type PlannedCluster, planCluster } from './planned-cluster.js';
import {
  clusterPaths,
  loadApplied,
  loadOrCreateSecrets,
  removeClusterState,
  withClusterLock,
} from './state.js';

// apply: make the hosts match the Clusterfile. The read-only phases (facts, images, driver) make the
// planned cluster; the changing phases below then each return their plan, and the engine runs what the
// journal does not show done. So a first run, a resumed run after a failure or kill, a scale-up, a
// scale-down and a re-apply of an unchanged cluster are the same operation.

export interface ClusterOptions extends ApplyOptions {
  acceptNewHostKey?: boolean;
}

const everyHost = (c: PlannedCluster) => c.hosts;

/** What an apply changes, in order. */
export const applyPhases: readonly Phase[] = [
  copyRootfs,
  hookPhase('check', 'run the check hook', everyHost),
  hookPhase('init-registry', 'run the init-registry hook', (c) => c.registryHosts),
  startRegistry,
  configureMirrors,
  upgradeHosts,
  hookPhase('init', 'run the init hook', everyHost),
  initFirstMaster,
  joinMasters,
  joinNodes,
  removeDeparted,
  syncBalancers,
  waitReady,
  runRootfsCommand,
  loadAppImages,
  runApplications,
  waitApplications,
];

/** `--force`: the named applications' CMD steps are forgotten, so the engine runs them again. */
async function forgetForcedApps(c: PlannedCluster, journal: Journal, options: ClusterOptions): Promise<void> {
  const wanted = options.rerunApps ?? [];
  const master0 = c.masters[0];
  if (wanted.length === 0 || !master0) return;
  for (const app of c.images.apps)
    if ([app.name, app.image.name, app.image.ref].some((n) => wanted.includes(n)))
      await journal.forgetStep(master0.ip, appStepId(app), { inMemory: options.dryRun });
}

type ClusterPhase = 'ClusterInProcess' | 'ClusterSuccess' | 'ClusterFailed';

/**
 * The Clusterfile to record while an apply is under way or has failed: the departed hosts stay in it (their
 * groups as the last applied Clusterfile had them) until the apply that removes them succeeds, so that a
 * run killed before they were reset still knows them and removes them next time.
 */
export function recordedCluster(
  c: Pick<PlannedCluster, 'loaded' | 'departed'>,
  previous: LoadedClusterfile | undefined,
  phase: ClusterPhase,
): Cluster {
  const cluster = c.loaded.cluster;
  if (phase === 'ClusterSuccess' || c.departed.length === 0 || !previous) return cluster;
  const leaving = new Set(c.departed.map((h) => h.ip));
  const groups = previous.cluster.spec.hosts
    .map((h) => ({ ...h, ips: h.ips.filter((a) => leaving.has(splitAddress(a).ip)) }))
    .filter((h) => h.ips.length > 0);
  return { ...cluster, spec: { ...cluster.spec, hosts: [...cluster.spec.hosts, ...groups] } };
}

function withStatus(
  c: PlannedCluster,
  phase: ClusterPhase,
  previous: LoadedClusterfile | undefined,
): Cluster {
  const cluster = recordedCluster(c, previous, phase);
  const mounts = c.images.images.map((i) => ({
    name: i.name,
    type: i.type,
    imageName: i.ref,
    digest: i.manifestDigest,
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
      mounts,
      // until an apply succeeds the hosts may still run the old version: an upgrade cut short resumes from it
      ...(() => {
        const v = phase === 'ClusterSuccess' ? c.runtimeCtx.kubeVersion?.text : c.appliedVersion;
        return v ? { kubernetesVersion: v } : {};
      })(),
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
  c: PlannedCluster,
  phase: ClusterPhase,
  previous: LoadedClusterfile | undefined,
): Promise<void> {
  const docs = [...c.loaded.configs, ...c.loaded.distributionDocs.map((d) => d.object)];
  await saveClusterfile(c.paths.clusterfile, withStatus(c, phase, previous), docs);
}

/** Makes the hosts match `loaded`; returns what each changing phase did (or would do, in a dry run). */
export async function applyCluster(
  loaded: LoadedClusterfile,
  options: ClusterOptions = {},
): Promise<PhaseReport[]> {
  const name = loaded.cluster.metadata.name;
  const dryRun = !!options.dryRun;
  if (loaded.cluster.spec.hosts.length === 0)
    throw new InputError(`${loaded.file}: spec.hosts: needs at least one master`);
  await checkHostsUnclaimed(loaded.cluster);
  return withClusterLock(
    name,
    async () => {
      const previous = await loadApplied(name);
      const paths = clusterPaths(name);
      const pool = new SshPool({ acceptNewHostKey: options.acceptNewHostKey });
      const concurrency = options.concurrency ?? 20;
      try {
        const journal = await Journal.open(paths.journal);
        const planned = await (async () => {
          const secrets = await loadOrCreateSecrets(name, { save: !dryRun });
          return planCluster({
            loaded,
            previous,
            paths,
            secrets,
            store: new ImageStore(),
            pool,
            journal,
            concurrency,
            dryRun,
            signal: options.signal,
          });
        })().catch(async (err) => {
          // no host was changed: a cluster never applied before leaves no state behind
          if (!previous && !dryRun) await removeClusterState(name);
          throw err;
        });
        const { cluster, cleanup } = planned;
        try {
          await forgetForcedApps(cluster, journal, options);
          const runner = sshRunner(pool, [...cluster.hosts, ...cluster.departed], {
            concurrency,
            signal: options.signal,
          });
          if (!dryRun) await saveState(cluster, 'ClusterInProcess', previous);
          try {
            const reports = await runPhases(applyPhases, cluster, { journal, runner, options });
            if (!dryRun) {
              await saveState(cluster, 'ClusterSuccess', previous);
              await journal.compact(cluster.hosts.map((h) => h.ip));
            }
            return reports;
          } catch (err) {
            if (!dryRun) await saveState(cluster, 'ClusterFailed', previous).catch(() => undefined);
            throw err;
          }
        } finally {
          await cleanup();
        }
      } finally {
        await pool.closeAll();
      }
    },
    { dryRun },
  );
}

/** `berth apply` / `run`: applies and says how long it took and where the kubeconfig is. */
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

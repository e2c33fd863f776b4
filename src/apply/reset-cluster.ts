import { type Cluster, envMap } from '../clusterfile/index.js';
import { mergeEnv } from '../image/contract.js';
import { SshPool } from '../ssh/index.js';
import { NotFoundError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { ClusterOptions } from './apply-cluster.js';
import type { PreparedImages } from './cluster-images.js';
import { runPhases } from './engine.js';
import { gatherFacts } from './facts.js';
import { berthResetAction, driverResetAction } from './host-reset.js';
import { sshRunner } from './host-run.js';
import { Journal } from './journal.js';
import type { ChangePhase } from './phase.js';
import { hookPhase } from './phases/image-hooks.js';
import { assemble, hostRoles } from './planned-cluster.js';
import {
  clusterPaths,
  loadApplied,
  loadOrCreateSecrets,
  removeClusterState,
  withClusterLock,
} from './state.js';

// reset: returns every host of an applied cluster to how it was before berth (the driver's reset, the
// images' clean hook, berth's own pieces), then forgets the cluster locally. The driver and env come from what
// the last apply recorded in the Clusterfile's status, so reset works without the images in the store.

type Mounts = NonNullable<NonNullable<Cluster['status']>['mounts']>;

/** The images as the last apply recorded them, enough for the clean hook to run from the rootfs on the hosts. */
function recordedImages(
  dir: string,
  arch: string,
  mounts: Mounts,
  env: Record<string, string>,
): PreparedImages {
  return {
    platform: { os: 'linux', architecture: arch },
    key: '',
    rootfsDir: `${dir}/rootfs`,
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

// The distribution's reset comes before the clean hook, as in the images' own tooling: an image's clean
// script may remove the distribution's binaries (kubeadm, k3s) that its reset still needs.
const resetDistribution: ChangePhase = {
  title: 'reset the distribution on every host',
  plan: (c) => ({
    order: 'parallel',
    steps: c.hosts.map((h) => ({
      host: h.ip,
      id: 'reset-runtime',
      always: true,
      ...driverResetAction(c, h),
    })),
  }),
};

const removeBerthPieces: ChangePhase = {
  title: "remove berth's registry, mirrors and files from every host",
  plan: (c) => ({
    order: 'parallel',
    steps: c.hosts.map((h) => ({ host: h.ip, id: 'reset', always: true, ...berthResetAction(c) })),
  }),
};

const resetPhases = [
  resetDistribution,
  hookPhase('clean', 'run the clean hook', (c) => c.hosts, { undoing: true }),
  removeBerthPieces,
];

export async function resetCluster(name: string, options: ClusterOptions = {}): Promise<void> {
  await withClusterLock(name, async () => {
    const loaded = await loadApplied(name);
    if (!loaded)
      throw new NotFoundError(`cluster ${name} does not exist (no ${clusterPaths(name).clusterfile})`);
    const paths = clusterPaths(name);
    const concurrency = options.concurrency ?? 20;
    const pool = new SshPool({ acceptNewHostKey: options.acceptNewHostKey });
    try {
      const journal = await Journal.open(paths.journal);
      const { hosts, registryHosts } = hostRoles(loaded);
      log.info('==> gather host facts');
      const facts = await gatherFacts({
        pool,
        hosts,
        registryHosts,
        installed: () => true,
        concurrency,
        signal: options.signal,
      });
      const secrets = await loadOrCreateSecrets(name, { save: false });
      const base = (loaded.cluster.status?.mounts ?? []).filter((m) => m.type !== 'application');
      const env = mergeEnv(
        [...base.map((m) => m.env ?? {}), { registryPassword: secrets.registryPassword }],
        envMap(loaded.cluster),
      );
      const arch = facts.values().next().value?.arch ?? 'amd64';
      const images = recordedImages(paths.dir, arch, base, env);
      // the state dir goes with the reset: nothing the driver prepares needs keeping
      const cluster = await assemble({ loaded, paths, secrets, dryRun: true }, [], facts, images);
      const runner = sshRunner(pool, hosts, { concurrency, signal: options.signal });
      await runPhases(resetPhases, cluster, { journal, runner, options });
      if (options.dryRun) return;
      await removeClusterState(name);
      log.info(`cluster ${name} reset on ${hosts.length} host(s)`);
    } finally {
      await pool.closeAll();
    }
  });
}

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type LoadedClusterfile,
  masters,
  nodes,
  type ResolvedHost,
  registryHosts,
  resolveHosts,
} from '../clusterfile/index.js';
import { kubeVersion } from '../image/contract.js';
import type { ImageStore } from '../image/store.js';
import { runtimeFor } from '../runtime/index.js';
import { type KubeVersion, parseKubeVersion } from '../runtime/kube-version.js';
import type { ClusterHost, PrepareContext, Runtime, RuntimeContext } from '../runtime/types.js';
import type { SshPool } from '../ssh/index.js';
import { InputError } from '../util/errors.js';
import { log } from '../util/log.js';
import { berthPath } from '../util/paths.js';
import { type PreparedImages, prepareImages } from './cluster-images.js';
import { gatherFacts, type HostFacts } from './facts.js';
import type { Journal } from './journal.js';
import { type ClusterPaths, type ClusterSecrets, loadDriverState, saveDriverState } from './state.js';
import { appliedKubeVersion, type VersionChange, versionChange } from './version-change.js';

// The planned cluster: everything the changing phases need, made by the read-only ones (host facts,
// prepared images, the driver chosen with its context and state) before any host is changed. Phases take
// it as a finished value; nothing in it is filled in later.

export interface PlannedCluster {
  name: string;
  loaded: LoadedClusterfile;
  hosts: ResolvedHost[];
  masters: ResolvedHost[];
  nodes: ResolvedHost[];
  registryHosts: ResolvedHost[];
  /** Hosts of the last applied Clusterfile that this one no longer has: removed from the cluster and reset. */
  departed: ResolvedHost[];
  facts: Map<string, HostFacts>;
  images: PreparedImages;
  runtime: Runtime;
  runtimeCtx: RuntimeContext;
  paths: ClusterPaths;
  /** The Kubernetes version the hosts run (the last successful apply's), unknown for a new cluster. */
  appliedVersion?: string;
  /** Set when the image's version differs from appliedVersion: the hosts already in the cluster move to it. */
  upgrade?: VersionChange & { hosts: ResolvedHost[] };
  /** The cluster's directory on every host, and the rootfs in it. */
  remoteDir: string;
  remoteRootfs: string;
}

/** Where a cluster's files live on every host. */
export function remoteClusterDir(name: string): string {
  return `/var/lib/berth/${name}`;
}

const defaultVip = '10.103.97.2';

/** A host as drivers see it, with what the facts phase learnt. */
export function clusterHost(facts: Map<string, HostFacts>, h: ResolvedHost): ClusterHost {
  const f = facts.get(h.ip);
  if (!f) return { ip: h.ip, roles: h.roles };
  const [id = 'unknown', version = ''] = f.os.split(' ');
  return {
    ip: h.ip,
    hostname: f.hostname,
    roles: h.roles,
    arch: f.arch,
    os: { id, version },
    init: f.init,
    cgroupDriver: f.init === 'systemd' && f.cgroupVersion === 2 ? 'systemd' : 'cgroupfs',
    criSocket: f.criSocket,
  };
}

export interface ClusterInput {
  loaded: LoadedClusterfile;
  /** The last applied Clusterfile, if any. */
  previous?: LoadedClusterfile;
  paths: ClusterPaths;
  secrets: ClusterSecrets;
  store: ImageStore;
  pool: SshPool;
  journal: Journal;
  concurrency: number;
  dryRun?: boolean;
  signal?: AbortSignal;
}

async function defaultConfig(runtime: Runtime, rootfsDir: string): Promise<string | undefined> {
  for (const rel of runtime.defaults.configFiles) {
    const text = await readFile(join(rootfsDir, rel), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** The driver's context for `images`, with the state its prepare made (kept unless this is a dry run). */
export async function runtimeContext(
  input: Pick<ClusterInput, 'loaded' | 'paths' | 'secrets' | 'dryRun' | 'previous'>,
  hosts: { masters: ResolvedHost[]; nodes: ResolvedHost[]; registryHosts: ResolvedHost[] },
  facts: Map<string, HostFacts>,
  images: PreparedImages,
): Promise<{ runtime: Runtime; runtimeCtx: RuntimeContext; change?: VersionChange }> {
  const name = input.loaded.cluster.metadata.name;
  const runtime = runtimeFor(images.labels);
  const env = images.env;
  const registryHost = hosts.registryHosts[0] ?? hosts.masters[0];
  const version = kubeVersion(images.labels);
  const kube: KubeVersion | undefined = version ? parseKubeVersion(version, 'label version') : undefined;
  // refused before the driver's prepare keeps anything
  const rootfs = images.images.find((i) => i.type === 'rootfs') ?? images.images[0];
  const change = versionChange(runtime, appliedKubeVersion(input.previous), kube, rootfs?.ref ?? name);
  const base: PrepareContext = {
    clusterName: name,
    rootfsDir: `${remoteClusterDir(name)}/rootfs`,
    env,
    masters: hosts.masters.map((h) => clusterHost(facts, h)),
    nodes: hosts.nodes.map((h) => clusterHost(facts, h)),
    registry: {
      domain: env.registryDomain ?? 'sealos.hub',
      port: Number(env.registryPort ?? 5000),
      hostIp: registryHost?.ip ?? '',
      username: env.registryUsername ?? 'admin',
      password: env.registryPassword ?? input.secrets.registryPassword,
    },
    vip: images.labels.vip ?? env.defaultVIP ?? defaultVip,
    apiServerDomain: 'apiserver.cluster.local',
    apiPort: 6443,
    kubeVersion: kube,
    distributionConfig: input.loaded.distributionDocs.filter((d) =>
      runtime.defaults.configKinds.includes(d.kind),
    ),
    imageDefaultConfig: await defaultConfig(runtime, images.rootfsDir),
  };
  return { runtime, runtimeCtx: await prepareDriver(runtime, base, input.dryRun), change };
}

/**
 * Runs the driver's prepare with what it returned last time, and keeps the result encrypted in the
 * cluster's state dir (unless this is a dry run): the whole context the driver's steps are made from.
 */
export async function prepareDriver(
  runtime: Runtime,
  base: PrepareContext,
  dryRun?: boolean,
): Promise<RuntimeContext> {
  const previous = await loadDriverState(base.clusterName);
  const state = await runtime.prepare(base, previous);
  if (!dryRun && JSON.stringify(state) !== JSON.stringify(previous))
    await saveDriverState(base.clusterName, state);
  return { ...base, state };
}

/** The Clusterfile's hosts, and which of them are masters, nodes and registry hosts. */
export function hostRoles(loaded: LoadedClusterfile) {
  return {
    hosts: resolveHosts(loaded.cluster),
    masters: masters(loaded.cluster),
    nodes: nodes(loaded.cluster),
    registryHosts: registryHosts(loaded.cluster),
  };
}

/** The planned cluster of `loaded` from its facts and images, with the driver chosen and prepared. */
export async function assemble(
  input: Pick<ClusterInput, 'loaded' | 'paths' | 'secrets' | 'dryRun' | 'previous'>,
  departed: ResolvedHost[],
  facts: Map<string, HostFacts>,
  images: PreparedImages,
): Promise<PlannedCluster> {
  const name = input.loaded.cluster.metadata.name;
  const roles = hostRoles(input.loaded);
  const { runtime, runtimeCtx, change } = await runtimeContext(input, roles, facts, images);
  const remoteDir = remoteClusterDir(name);
  // hosts this apply adds join at the new version; only those already in the cluster are upgraded
  const before = new Set(input.previous ? resolveHosts(input.previous.cluster).map((h) => h.ip) : []);
  const upgraded = [...roles.masters, ...roles.nodes].filter((h) => before.has(h.ip));
  return {
    appliedVersion: appliedKubeVersion(input.previous),
    ...(change ? { upgrade: { ...change, hosts: upgraded } } : {}),
    name,
    loaded: input.loaded,
    ...roles,
    departed,
    facts,
    images,
    runtime,
    runtimeCtx,
    paths: input.paths,
    remoteDir,
    remoteRootfs: `${remoteDir}/rootfs`,
  };
}

/**
 * Runs the read-only phases: facts from every host (those leaving too), the images mounted and merged
 * here, the driver chosen and prepared. A dry run unpacks images, when it must, into a scratch dir that
 * `cleanup` removes.
 */
export async function planCluster(
  input: ClusterInput,
): Promise<{ cluster: PlannedCluster; cleanup: () => Promise<void> }> {
  const { loaded, paths } = input;
  const name = loaded.cluster.metadata.name;
  const { hosts, ...roles } = hostRoles(loaded);
  const wanted = new Set(hosts.map((h) => h.ip));
  const departed = input.previous
    ? resolveHosts(input.previous.cluster).filter((h) => !wanted.has(h.ip))
    : [];
  if (departed.length > 0 && !roles.masters.some((m) => !departed.some((d) => d.ip === m.ip))) {
    throw new InputError(
      `${loaded.file}: every master would be removed; use berth reset to remove the cluster`,
    );
  }
  log.info('==> gather host facts');
  const facts = await gatherFacts({
    pool: input.pool,
    hosts: [...hosts, ...departed],
    registryHosts: roles.registryHosts,
    installed: (ip) => input.journal.entries().some((e) => e.host === ip),
    concurrency: input.concurrency,
    signal: input.signal,
  });
  const first = facts.values().next().value as HostFacts | undefined;
  log.info('==> mount and merge images');
  let scratch: string | undefined;
  if (input.dryRun) {
    await mkdir(berthPath('tmp'), { recursive: true });
    scratch = await mkdtemp(berthPath('tmp', `dry-run-${name}-`));
  }
  const cleanup = async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  try {
    const images = await prepareImages(
      {
        cluster: loaded.cluster,
        configs: loaded.configs,
        store: input.store,
        registryPassword: input.secrets.registryPassword,
        dir: paths.dir,
        scratch,
      },
      { os: 'linux', architecture: first?.arch || 'amd64' },
    );
    return { cluster: await assemble(input, departed, facts, images), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

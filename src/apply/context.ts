import type { LoadedClusterfile, ResolvedHost } from '../clusterfile/index.js';
import type { ImageStore } from '../image/store.js';
import type { Runtime, RuntimeContext } from '../runtime/types.js';
import type { SshPool } from '../ssh/index.js';
import type { HostSpec } from '../ssh/types.js';
import type { PreparedImages } from './cluster-images.js';
import type { Journal } from './journal.js';
import type { ClusterPaths, ClusterSecrets } from './state.js';

// Everything the phases of one apply share. Phases fill in what they learn (facts, prepared images, the
// runtime context) for the phases after them.

export interface HostFacts {
  hostname: string;
  arch: string;
  os: string;
  /** Seconds the host's clock is ahead of this machine's (negative: behind). */
  clockSkew: number;
  /** TCP ports something listens on. */
  listening: Set<number>;
}

export interface ApplyOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Hosts worked on at once. */
  concurrency?: number;
  /** Seconds to wait for every node to be Ready. */
  readyTimeout?: number;
}

export interface ApplyContext {
  name: string;
  loaded: LoadedClusterfile;
  hosts: ResolvedHost[];
  masters: ResolvedHost[];
  nodes: ResolvedHost[];
  registryHosts: ResolvedHost[];
  pool: SshPool;
  journal: Journal;
  secrets: ClusterSecrets;
  store: ImageStore;
  paths: ClusterPaths;
  options: ApplyOptions;
  facts: Map<string, HostFacts>;
  images?: PreparedImages;
  runtime?: Runtime;
  runtimeCtx?: RuntimeContext;
}

/** Where a cluster's files live on every host. */
export function remoteClusterDir(name: string): string {
  return `/var/lib/berth/${name}`;
}

export function remoteRootfs(name: string): string {
  return `${remoteClusterDir(name)}/rootfs`;
}

export function hostSpec(h: ResolvedHost): HostSpec {
  return {
    host: h.ip,
    port: h.port,
    user: h.ssh.user,
    password: h.ssh.password,
    privateKeyPath: h.ssh.privateKeyPath,
    privateKey: h.ssh.privateKey,
    passphrase: h.ssh.passphrase,
  };
}

export function requireImages(ctx: ApplyContext): PreparedImages {
  if (!ctx.images) throw new Error('images are not prepared yet');
  return ctx.images;
}

export function requireRuntime(ctx: ApplyContext): { runtime: Runtime; rctx: RuntimeContext } {
  if (!ctx.runtime || !ctx.runtimeCtx) throw new Error('the runtime is not chosen yet');
  return { runtime: ctx.runtime, rctx: ctx.runtimeCtx };
}

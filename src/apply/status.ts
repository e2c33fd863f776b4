import { readFile } from 'node:fs/promises';
import { masters, splitAddress } from '../clusterfile/index.js';
import { parseReference, repositoryName } from '../image/reference.js';
import { errorMessage, NotFoundError } from '../util/errors.js';
import { expiringWithin } from './certificate-expiry.js';
import { appDirName } from './cluster-images.js';
import { Journal } from './journal.js';
import { listNodes, type NodeState } from './kube.js';
import { type MasterCertificate, masterCertificates } from './master-certificates.js';
import { clusterPaths, loadApplied } from './state.js';

// status and kubeconfig: what berth knows of an applied cluster, and what its API says of the nodes.

export interface ClusterStatusReport {
  name: string;
  phase: string;
  images: string[];
  kubeconfig: string;
  hosts: Array<{ ip: string; roles: string[]; node?: string; ready?: boolean; version?: string }>;
  /** Application images: digest, and when their CMD last completed on the first master (none yet: absent). */
  apps: Array<{ image: string; digest?: string; applied?: string }>;
  apiError?: string;
  /** Certificates on the masters that expire within 30 days (or have expired), soonest first. */
  expiringCertificates: MasterCertificate[];
  /** Masters whose certificates could not be read, and why. */
  certificateErrors: Array<{ host?: string; error: string }>;
}

/** The masters' certificates near expiry; a master that cannot be read is reported, never fatal. */
async function certificatesOf(
  name: string,
): Promise<Pick<ClusterStatusReport, 'expiringCertificates' | 'certificateErrors'>> {
  try {
    const r = await masterCertificates(name);
    return {
      expiringCertificates: expiringWithin(r.certificates, new Date()),
      certificateErrors: r.failed.map((f) => ({ host: f.host, error: f.error.message })),
    };
  } catch (err) {
    return { expiringCertificates: [], certificateErrors: [{ error: errorMessage(err) }] };
  }
}

/** The cluster's application images from its saved status, with when the journal saw each one's CMD done. */
async function appsOf(
  loaded: NonNullable<Awaited<ReturnType<typeof loadApplied>>>,
  journalPath: string,
): Promise<ClusterStatusReport['apps']> {
  const journal = await Journal.open(journalPath);
  const master0 = masters(loaded.cluster)[0]?.ip;
  return (loaded.cluster.status?.mounts ?? [])
    .filter((m) => m.type === 'application' && m.imageName)
    .map((m) => {
      const image = m.imageName as string;
      const digest = typeof m.digest === 'string' ? m.digest : undefined;
      const step = `app-${appDirName(repositoryName(parseReference(image)))}`;
      const entry = journal.entries().find((e) => e.host === master0 && e.step === step);
      return { image, ...(digest ? { digest } : {}), ...(entry ? { applied: entry.at } : {}) };
    });
}

export async function clusterStatus(name: string): Promise<ClusterStatusReport> {
  const loaded = await loadApplied(name);
  if (!loaded) throw new NotFoundError(`cluster ${name} does not exist`);
  const paths = clusterPaths(name);
  // the masters are asked over SSH while the API answers (certificatesOf never rejects)
  const certificates = certificatesOf(name);
  let nodes: NodeState[] = [];
  let apiError: string | undefined;
  try {
    nodes = await listNodes(await readFile(paths.kubeconfig, 'utf8'));
  } catch (err) {
    apiError = errorMessage(err);
  }
  const hosts = loaded.cluster.spec.hosts.flatMap((h) =>
    h.ips.map((a) => {
      const ip = splitAddress(a).ip;
      const node = nodes.find((n) => n.internalIp === ip);
      return {
        ip,
        roles: h.roles,
        node: node?.name,
        ready: node ? node.ready : undefined,
        version: node?.version,
      };
    }),
  );
  return {
    name,
    phase: loaded.cluster.status?.phase ?? 'unknown',
    images: loaded.cluster.spec.image,
    kubeconfig: paths.kubeconfig,
    hosts,
    apps: await appsOf(loaded, paths.journal),
    apiError,
    ...(await certificates),
  };
}

export async function kubeconfigOf(name: string): Promise<{ path: string; text: string }> {
  const path = clusterPaths(name).kubeconfig;
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch {
    throw new NotFoundError(`cluster ${name} has no kubeconfig yet (${path}); apply it first`);
  }
}

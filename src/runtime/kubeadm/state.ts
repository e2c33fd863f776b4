import { createHash } from 'node:crypto';
import { log } from '../../util/log.js';
import type { ClusterHost, PrepareContext } from '../types.js';
import { clusterConfig, kubeVersionOf, pkiNames } from './cluster-config.js';
import { nodeName } from './config/index.js';
import {
  type ClusterCas,
  makeClusterCas,
  masterKubeconfigs,
  masterPkiFiles,
  newBootstrapToken,
  type PkiNames,
} from './pki/index.js';

// What berth keeps for a kubeadm cluster between applies (encrypted in the cluster's state dir): the
// cluster's CAs, made once and never again; every master's certificates and kubeconfigs, made again when
// the masters (whose names every API server certificate carries) change; a bootstrap token, replaced
// shortly before it expires. Only secrets and digests are values here, since berth masks every string
// of the state in its logs: addresses and file names are keys.

export interface MasterFiles {
  /** Path under /etc/kubernetes/pki -> content. */
  pki: Record<string, string>;
  /** File name under /etc/kubernetes (admin.conf ...) -> content. */
  kubeconfigs: Record<string, string>;
}

export interface KubeadmState {
  cas: ClusterCas;
  /** Master address -> its files. */
  masters: Record<string, MasterFiles>;
  /** sha256 of the names and version the masters' files were made for. */
  namesDigest: string;
  /** id.secret; it exists in the cluster as Secret kube-system/bootstrap-token-<id> until tokenExpires. */
  bootstrapToken: string;
  /** When the token expires, in ms since the epoch. */
  tokenExpires: number;
  /**
   * Names `berth cert --alt-names` added to the API server's certificate (as keys, true as value), kept so
   * that every certificate made later carries them too.
   */
  altNames?: Record<string, true>;
}

export const tokenTtlSeconds = 24 * 3600;
/** A token with less left than this is replaced: an apply and its joins finish well within it. */
const tokenMarginSeconds = 2 * 3600;

/** The server berth's kubeconfigs name: on a master apiserver.cluster.local is the master itself. */
function endpointUrl(ctx: PrepareContext): string {
  return `https://${ctx.apiServerDomain}:${ctx.apiPort}`;
}

/** The names the masters' certificates carry: the cluster's and those `berth cert --alt-names` added. */
export function certificateNames(ctx: PrepareContext, altNames: Record<string, true> | undefined): PkiNames {
  const names = pkiNames(ctx, clusterConfig(ctx));
  const added = Object.keys(altNames ?? {}).filter((n) => !names.certSANs.includes(n));
  return { ...names, certSANs: [...names.certSANs, ...added] };
}

export function namesDigestOf(names: PkiNames, ctx: PrepareContext): string {
  return createHash('sha256')
    .update(JSON.stringify({ names, minor: kubeVersionOf(ctx).minor }))
    .digest('hex');
}

/** A master's certificates and kubeconfigs, all new, signed by the cluster's CAs. */
export async function newMasterFiles(
  ctx: PrepareContext,
  cas: ClusterCas,
  names: PkiNames,
  m: ClusterHost,
  now: Date,
): Promise<MasterFiles> {
  return {
    pki: await masterPkiFiles(cas, names, { ip: m.ip, hostname: nodeName(m) }, now),
    kubeconfigs: await masterKubeconfigs(
      cas,
      {
        clusterName: 'kubernetes',
        server: endpointUrl(ctx),
        localServer: `https://${m.ip}:${ctx.apiPort}`,
        nodeName: nodeName(m),
        kubeMinor: kubeVersionOf(ctx).minor,
      },
      now,
    ),
  };
}

export async function prepareKubeadm(
  ctx: PrepareContext,
  previous: KubeadmState | undefined,
  now = new Date(),
): Promise<KubeadmState> {
  kubeVersionOf(ctx);
  // renders and validates every document (version, fields, address overlaps) before any host is touched
  const config = clusterConfig(ctx);
  for (const w of config.warnings) log.warn(w);
  if (ctx.masters.length === 0) throw new Error('a kubeadm cluster needs at least one master');
  const cas = previous?.cas ?? (await makeClusterCas(now));
  const names = certificateNames(ctx, previous?.altNames);
  const namesDigest = namesDigestOf(names, ctx);
  const reuse =
    previous?.cas === cas &&
    previous.namesDigest === namesDigest &&
    ctx.masters.every((m) => previous.masters[m.ip]);
  const masters: Record<string, MasterFiles> = {};
  for (const m of ctx.masters) {
    const kept = reuse ? previous?.masters[m.ip] : undefined;
    masters[m.ip] = kept ?? (await newMasterFiles(ctx, cas, names, m, now));
  }
  const tokenValid = previous && previous.tokenExpires - now.getTime() > tokenMarginSeconds * 1000;
  return {
    cas,
    masters,
    namesDigest,
    bootstrapToken: tokenValid ? previous.bootstrapToken : newBootstrapToken(),
    tokenExpires: tokenValid ? previous.tokenExpires : now.getTime() + tokenTtlSeconds * 1000,
    ...(previous?.altNames ? { altNames: previous.altNames } : {}),
  };
}

// The certificates on every master of an applied cluster, read over SSH from the directories the
// cluster's driver names (RuntimeDefaults.certificateDirs): `berth cert check` lists them and
// `berth status` warns about those near expiry. The driver comes from the labels the last apply recorded,
// so this works without the images in the local store.

import type { ResolvedHost } from '../clusterfile/index.js';
import { masters } from '../clusterfile/index.js';
import { runtimeFor } from '../runtime/index.js';
import { certificatesIn, describeCertificate } from '../runtime/kubeadm/pki/index.js';
import { SshPool, shellQuote } from '../ssh/index.js';
import { errorMessage, NotFoundError } from '../util/errors.js';
import { settleLimit } from '../util/pool.js';
import { daysLeft } from './certificate-expiry.js';
import { hostSpec } from './host-spec.js';
import { clusterPaths, loadApplied } from './state.js';

export interface MasterCertificate {
  host: string;
  path: string;
  /** Place of the certificate in its file when the file holds a chain (1 is the first), else absent. */
  position?: number;
  subject: string;
  issuer: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  daysLeft: number;
}

export interface MasterCertificates {
  certificates: MasterCertificate[];
  /** Files that hold no certificate berth can read (host, path, why). */
  unreadable: Array<{ host: string; path: string; error: string }>;
  /** Masters that could not be asked: the error each failed with. */
  failed: Array<{ host: string; error: Error }>;
}

const marker = '@@berth-certificate-file ';

/**
 * sh printing each *.crt file of `dirs` (missing dirs skipped), and the embedded client certificate of
 * each of `kubeconfigs` that has one, after a marker line naming the file.
 */
export function certificateListScript(dirs: readonly string[], kubeconfigs: readonly string[] = []): string {
  const lines = [
    `for d in ${dirs.map(shellQuote).join(' ')}; do`,
    '  [ -d "$d" ] || continue',
    '  for f in "$d"/*.crt; do',
    '    [ -f "$f" ] || continue',
    `    printf '%s%s\\n' '${marker}' "$f"`,
    '    cat "$f"; echo',
    '  done',
    'done',
  ];
  if (kubeconfigs.length > 0)
    lines.push(
      `for f in ${kubeconfigs.map(shellQuote).join(' ')}; do`,
      '  [ -f "$f" ] || continue',
      `  data=$(sed -n 's/^[[:space:]]*client-certificate-data:[[:space:]]*//p' "$f")`,
      '  [ -n "$data" ] || continue',
      `  printf '%s%s\\n' '${marker}' "$f"`,
      // one line per user: each decoded alone, as base64 padding may end any of them
      '  printf \'%s\\n\' "$data" | while read -r b; do printf \'%s\' "$b" | base64 -d; echo; done',
      'done',
    );
  return lines.join('\n');
}

/** The certificates in what certificateListScript printed on `host`. */
export function parseCertificateListing(
  host: string,
  stdout: string,
  now: Date,
): Pick<MasterCertificates, 'certificates' | 'unreadable'> {
  const out: Pick<MasterCertificates, 'certificates' | 'unreadable'> = { certificates: [], unreadable: [] };
  for (const chunk of stdout.split(`\n${marker}`).map((c, i) => (i === 0 ? c.replace(marker, '') : c))) {
    if (!chunk.trim()) continue;
    const newline = chunk.indexOf('\n');
    const path = newline < 0 ? chunk : chunk.slice(0, newline);
    const pems = certificatesIn(newline < 0 ? '' : chunk.slice(newline + 1));
    if (pems.length === 0) out.unreadable.push({ host, path, error: 'no PEM certificate in it' });
    for (const [i, pem] of pems.entries()) {
      try {
        const f = describeCertificate(pem);
        out.certificates.push({
          host,
          path,
          ...(pems.length > 1 ? { position: i + 1 } : {}),
          subject: f.subject,
          issuer: f.issuer,
          dnsNames: f.dnsNames,
          ipAddresses: f.ipAddresses,
          notBefore: f.notBefore,
          notAfter: f.notAfter,
          daysLeft: daysLeft(f.notAfter, now),
        });
      } catch (err) {
        out.unreadable.push({ host, path, error: errorMessage(err) });
      }
    }
  }
  return out;
}

export interface ReadOptions {
  acceptNewHostKey?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  now?: Date;
}

async function readFrom(
  pool: SshPool,
  hosts: ResolvedHost[],
  script: string,
  opts: ReadOptions,
): Promise<MasterCertificates> {
  const now = opts.now ?? new Date();
  const settled = await settleLimit(hosts, opts.concurrency ?? 20, async (h) => {
    const session = await pool.session(hostSpec(h));
    return (await session.exec(script, { sudo: true, signal: opts.signal })).stdout;
  });
  // a Ctrl-C ends the command as interrupted, not as a failure of each master it cut short
  opts.signal?.throwIfAborted();
  const result: MasterCertificates = { certificates: [], unreadable: [], failed: [] };
  for (const [i, s] of settled.entries()) {
    const host = (hosts[i] as ResolvedHost).ip;
    if (s.status === 'rejected') {
      result.failed.push({ host, error: s.reason instanceof Error ? s.reason : new Error(String(s.reason)) });
      continue;
    }
    const parsed = parseCertificateListing(host, s.value, now);
    result.certificates.push(...parsed.certificates);
    result.unreadable.push(...parsed.unreadable);
  }
  return result;
}

/** Every certificate on every master of cluster `name`, as its driver lays them out. */
export async function masterCertificates(name: string, opts: ReadOptions = {}): Promise<MasterCertificates> {
  const loaded = await loadApplied(name);
  if (!loaded)
    throw new NotFoundError(`cluster ${name} does not exist (no ${clusterPaths(name).clusterfile})`);
  const recorded = (loaded.cluster.status?.mounts ?? []).filter((m) => m.type !== 'application');
  const runtime = runtimeFor(Object.assign({}, ...recorded.map((m) => m.labels ?? {})));
  const pool = new SshPool({ acceptNewHostKey: opts.acceptNewHostKey });
  try {
    const { certificateDirs, certificateKubeconfigs } = runtime.defaults;
    const script = certificateListScript(certificateDirs, certificateKubeconfigs);
    return await readFrom(pool, masters(loaded.cluster), script, opts);
  } finally {
    await pool.closeAll();
  }
}

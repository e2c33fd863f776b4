// Certificates made again on a running kubeadm cluster, from the CAs berth keeps: `berth cert --alt-names`
// gives the API server a certificate with more names (kept in the state, so that every certificate made
// later has them too), `berth cert renew` renews every leaf and the control-plane kubeconfigs. The new
// files go to one master at a time and each static pod that reads them is restarted there the way kubeadm
// documents it for the real kubelet: its manifest moved out of the manifests directory until the pod is
// gone, then moved back (a changed certificate alone restarts nothing, and the kubelet keys a static pod by
// its manifest's content, which a touch does not change). The next master starts only when this one's API
// server answers again, so the cluster keeps serving and etcd keeps its quorum throughout.

import type { FileSpec } from '../../host/action.js';
import { tcpProbeFunction } from '../../host/wait-port.js';
import { shellQuote } from '../../util/shell.js';
import type { CertificateChange, ClusterHost, HostStep } from '../types.js';
import type { KubeadmContext } from './control-plane.js';
import { clusterDirOf, kubeDir, manifestsDir, pkiDir, stagingDirOf } from './host-paths.js';
import { kubectlCommand, waitForApiCommand } from './kubeadm-command.js';
import {
  certificateNames,
  type KubeadmState,
  type MasterFiles,
  namesDigestOf,
  newMasterFiles,
} from './state.js';
import { masterSecrets } from './upload.js';

/** The CAs and service-account keys, which neither change touches. */
const keptFiles = /^(ca|front-proxy-ca|etcd\/ca)\.(crt|key)$|^sa\.(key|pub)$/;
const superAdminConf = 'super-admin.conf';

/** The static pods reading the changed files, in the order they restart, with the port each answers on. */
function podsOf(
  change: CertificateChange,
  host: ClusterHost,
): Array<{ pod: string; address: string; port: number }> {
  const apiserver = { pod: 'kube-apiserver', address: host.ip, port: 6443 };
  if (change.kind === 'alt-names') return [apiserver];
  return [
    { pod: 'etcd', address: '127.0.0.1', port: 2379 },
    apiserver,
    { pod: 'kube-controller-manager', address: '127.0.0.1', port: 10257 },
    { pod: 'kube-scheduler', address: '127.0.0.1', port: 10259 },
  ];
}

/** The master's files after the change: alt-names replaces the API server's pair only, renew every leaf. */
function changedFiles(
  change: CertificateChange,
  old: MasterFiles | undefined,
  fresh: MasterFiles,
): MasterFiles {
  if (change.kind === 'renew' || !old) return fresh;
  const pki = { ...old.pki };
  for (const rel of ['apiserver.crt', 'apiserver.key']) pki[rel] = fresh.pki[rel] as string;
  return { pki, kubeconfigs: old.kubeconfigs };
}

function uploads(change: CertificateChange, files: MasterFiles, rootfsDir: string): FileSpec[] {
  const pki = Object.entries(files.pki)
    .filter(([rel]) => !keptFiles.test(rel))
    .filter(([rel]) => change.kind === 'renew' || rel.startsWith('apiserver.'))
    .map(([rel, content]) => ({
      path: `${pkiDir}/${rel}`,
      content,
      mode: rel.endsWith('.key') ? 0o600 : 0o644,
    }));
  if (change.kind === 'alt-names') return pki;
  // super-admin.conf exists on the master kubeadm init ran on only: it is staged and kept only there
  const kubeconfigs = Object.entries(files.kubeconfigs).map(([name, content]) => ({
    path: name === superAdminConf ? `${stagingDirOf(rootfsDir)}/${name}` : `${kubeDir}/${name}`,
    content,
    mode: 0o600,
  }));
  return [...pki, ...kubeconfigs];
}

/** sh restarting each of `pods` on `host` in turn, kubeadm's way; a manifest an interrupted run parked goes back first. */
function restartCommand(ctx: KubeadmContext, host: ClusterHost, pods: ReturnType<typeof podsOf>): string {
  const parked = shellQuote(`${clusterDirOf(ctx.rootfsDir)}/parked-manifests`);
  const restarts = pods.map((p) => `restart_pod ${p.pod} ${p.address} ${p.port}`).join('\n');
  return `${tcpProbeFunction}
parked=${parked}
if [ -d "$parked" ]; then
  for f in "$parked"/*.yaml; do if [ -e "$f" ]; then mv -f "$f" ${manifestsDir}/; fi; done
  rmdir "$parked"
fi
restart_pod() {
  m=${manifestsDir}/$1.yaml
  [ -e "$m" ] || return 0
  mkdir -p "$parked" && mv "$m" "$parked/"
  i=0
  while probe "$2" "$3"; do
    i=$((i + 1))
    if [ $i -ge 120 ]; then
      mv "$parked/$1.yaml" "$m" && rmdir "$parked"
      echo "${host.ip}: $1 still answers on port $3 60 s after its manifest was moved out; is the kubelet running?" >&2
      exit 1
    fi
    sleep 0.5
  done
  mv "$parked/$1.yaml" "$m" && rmdir "$parked"
  i=0
  until probe "$2" "$3"; do
    i=$((i + 1))
    if [ $i -ge 240 ]; then echo "${host.ip}: $1 did not answer on port $3 within 120 s of its restart; see the kubelet's log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "restarted $1 on ${host.ip}"
}
${restarts}`;
}

function changeStep(
  ctx: KubeadmContext,
  change: CertificateChange,
  state: KubeadmState,
  host: ClusterHost,
): HostStep {
  const files = state.masters[host.ip] as MasterFiles;
  const staged = shellQuote(`${stagingDirOf(ctx.rootfsDir)}/${superAdminConf}`);
  const local = kubectlCommand(clusterDirOf(ctx.rootfsDir), `https://${host.ip}:${ctx.apiPort}`);
  const what =
    change.kind === 'renew' ? 'renewed certificates and kubeconfigs' : "the API server's new certificate";
  return {
    host: host.ip,
    id: change.kind === 'renew' ? 'renew-certificates' : 'apiserver-alt-names',
    always: true,
    description: `${what} on ${host.ip}, its control plane restarted`,
    files: uploads(change, files, ctx.rootfsDir),
    commands: [
      ...(change.kind === 'renew'
        ? [
            `if [ -e ${kubeDir}/${superAdminConf} ]; then mv -f ${staged} ${kubeDir}/${superAdminConf}; else rm -f ${staged}; fi
rmdir ${shellQuote(stagingDirOf(ctx.rootfsDir))} 2>/dev/null || :`,
          ]
        : []),
      restartCommand(ctx, host, podsOf(change, host)),
      waitForApiCommand(
        local,
        120,
        `${host.ip}: its API server did not answer within 120 s after the restart; see the kubelet's log`,
      ),
    ],
    secrets: masterSecrets(state, host.ip),
    failure: `putting ${what} on a master`,
  };
}

export async function changeCertificates(
  ctx: KubeadmContext,
  change: CertificateChange,
  now = new Date(),
): Promise<{ state: KubeadmState; steps: HostStep[] }> {
  const previous = ctx.state;
  const altNames = { ...previous.altNames };
  if (change.kind === 'alt-names') for (const n of change.names) altNames[n] = true;
  const names = certificateNames(ctx, altNames);
  const masters: Record<string, MasterFiles> = { ...previous.masters };
  for (const m of ctx.masters) {
    const fresh = await newMasterFiles(ctx, previous.cas, names, m, now);
    masters[m.ip] = changedFiles(change, previous.masters[m.ip], fresh);
  }
  const state: KubeadmState = {
    ...previous,
    masters,
    namesDigest: namesDigestOf(names, ctx),
    ...(Object.keys(altNames).length > 0 ? { altNames } : {}),
  };
  return { state, steps: ctx.masters.map((m) => changeStep(ctx, change, state, m)) };
}

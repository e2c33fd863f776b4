import type { FileSpec } from '../../host/action.js';
import { shellQuote } from '../../util/shell.js';
import { kubeDir, manifestsDir, stagingDirOf } from './host-paths.js';
import type { KubeadmState } from './state.js';

const superAdminConf = 'super-admin.conf';

// The certificates and kubeconfigs berth made for a master, sent to that master only. They are staged in
// the cluster's directory and put under /etc/kubernetes by a command, after any leftovers of an
// interrupted kubeadm run were reset (kubeadm reset empties /etc/kubernetes/pki).

/**
 * The staged files of `masterIp`; `init` says whether it is the first master, the only one that gets
 * super-admin.conf (as kubeadm writes it on init only).
 */
export function masterUploadFiles(
  state: KubeadmState,
  masterIp: string,
  rootfsDir: string,
  init: boolean,
): FileSpec[] {
  const files = state.masters[masterIp];
  if (!files) throw new Error(`no certificates were made for master ${masterIp}; run prepare again`);
  const staging = stagingDirOf(rootfsDir);
  return [
    ...Object.entries(files.pki).map(([rel, content]) => ({
      path: `${staging}/pki/${rel}`,
      content,
      mode: rel.endsWith('.key') ? 0o600 : 0o644,
    })),
    ...Object.entries(files.kubeconfigs)
      .filter(([name]) => init || name !== superAdminConf)
      .map(([name, content]) => ({
        path: `${staging}/${name}`,
        content,
        mode: 0o600,
      })),
  ];
}

/**
 * Puts the staged files in place and removes the staging directory; the static pod directory is made as
 * the kubeadm packages ship it.
 */
export function installUploadCommand(rootfsDir: string): string {
  const staging = shellQuote(stagingDirOf(rootfsDir));
  return `mkdir -p ${manifestsDir} && cp -a ${staging}/. ${kubeDir}/ && rm -rf ${staging}`;
}

/**
 * Every secret value of what a master receives: private keys, kubeconfigs, and the one-line client keys
 * inside those (the form in which a key could reach a log line).
 */
export function masterSecrets(state: KubeadmState, masterIp: string): string[] {
  const files = state.masters[masterIp];
  if (!files) return [];
  const kubeconfigs = Object.values(files.kubeconfigs);
  return [
    ...Object.entries(files.pki)
      .filter(([rel]) => rel.endsWith('.key'))
      .map(([, v]) => v),
    ...kubeconfigs,
    ...kubeconfigs.flatMap((k) => [...k.matchAll(/client-key-data: (\S+)/g)].map((m) => m[1] as string)),
  ];
}

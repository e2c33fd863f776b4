// `kubeadm reset`: the confirmation, this node's etcd member removed through etcd's API (unless it is the
// last one) and the data dir emptied, the kubelet stopped, and the directories and files kubeadm lists
// emptied or deleted; what kubeadm leaves (CNI config, iptables, $HOME/.kube) is named, not touched.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { bool, type FlagValues, list, str } from './cobra-flags.js';
import { KubeadmError } from './config-load.js';
import { EtcdClient } from './etcd-members.js';
import {
  ETCD_DATA_DIR,
  KUBECONFIG_FILES,
  KUBELET_DIR,
  MANIFESTS_DIR,
  PKI_DIR,
  TMP_DIR,
} from './kubeadm-paths.js';

type Log = (l: string) => void;

function emptyDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

function etcdFromManifest(): { dataDir: string; peerURL?: string } {
  const path = join(MANIFESTS_DIR, 'etcd.yaml');
  if (!existsSync(path)) return { dataDir: ETCD_DATA_DIR };
  const pod = parseYamlSubset(readFileSync(path, 'utf8')) as KubeObject;
  const cmd: string[] = pod.spec?.containers?.[0]?.command ?? [];
  const flag = (n: string) => cmd.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);
  return {
    dataDir: flag('data-dir') ?? ETCD_DATA_DIR,
    ...(flag('initial-advertise-peer-urls') ? { peerURL: flag('initial-advertise-peer-urls') } : {}),
  };
}

async function removeEtcdMember(certDir: string, peerURL: string, log: Log): Promise<void> {
  try {
    const etcd = new EtcdClient(['https://127.0.0.1:2379'], certDir);
    const members = await etcd.list();
    const self = members.find((m) => m.peerURLs.includes(peerURL));
    if (!self) return;
    if (members.length === 1) {
      log('[reset] This is the only remaining etcd member; skipping the removal of the member');
      return;
    }
    const others = new EtcdClient(
      members.filter((m) => m !== self).flatMap((m) => m.clientURLs),
      certDir,
    );
    // etcd refuses a removal while the quorum looks unhealthy (a member connected for under 5 s); kubeadm's
    // etcd client retries with a backoff, so this does too
    for (let attempt = 1; ; attempt++) {
      try {
        await others.remove(self.id);
        break;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    log(`[reset] Removed etcd member ${self.name} (${self.id})`);
  } catch (e) {
    log(
      `[reset] Failed to remove etcd member: ${(e as Error).message}. Please manually remove this etcd member using etcdctl`,
    );
  }
}

export async function runReset(values: FlagValues, log: Log): Promise<void> {
  const dryRun = bool(values, 'dry-run');
  const certDir = str(values, 'cert-dir') ?? PKI_DIR;
  if (!bool(values, 'force')) {
    log("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.");
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question('[reset] Are you sure you want to proceed? [y/N]: ');
    rl.close();
    if (answer.trim().toLowerCase() !== 'y')
      throw new KubeadmError('error execution phase preflight: aborted reset operation');
  }
  const skip = new Set(list(values, 'skip-phases'));
  log('[preflight] Running pre-flight checks');
  const etcd = etcdFromManifest();
  if (!skip.has('remove-etcd-member') && existsSync(join(MANIFESTS_DIR, 'etcd.yaml'))) {
    if (etcd.peerURL && !dryRun) await removeEtcdMember(certDir, etcd.peerURL, log);
    if (!dryRun) emptyDir(etcd.dataDir);
    log(
      `[reset] ${dryRun ? 'Would delete' : 'Deleted'} contents of the etcd data directory: ${etcd.dataDir}`,
    );
  }
  if (skip.has('cleanup-node')) return;
  if (!dryRun) {
    const stop = spawnSync('systemctl', ['stop', 'kubelet'], { encoding: 'utf8', timeout: 60_000 });
    if (stop.status !== 0)
      log(`[reset] The kubelet service could not be stopped by kubeadm: [${(stop.stderr || '').trim()}]`);
  }
  log('[reset] Stopping the kubelet service');
  const dirs = [MANIFESTS_DIR, KUBELET_DIR, certDir, ...(bool(values, 'cleanup-tmp-dir') ? [TMP_DIR] : [])];
  if (certDir !== PKI_DIR)
    log(`[reset] WARNING: Cleaning a non-default certificates directory: "${certDir}"`);
  log(`[reset] ${dryRun ? 'Would delete' : 'Deleting'} contents of directories: [${dirs.join(' ')}]`);
  if (!dryRun) for (const d of dirs) emptyDir(d);
  log(`[reset] ${dryRun ? 'Would delete' : 'Deleting'} files: [${KUBECONFIG_FILES.join(' ')}]`);
  if (!dryRun) for (const f of KUBECONFIG_FILES) rmSync(f, { force: true });
  log(
    [
      '',
      'The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d',
      '',
      'The reset process does not reset or clean up iptables rules or IPVS tables.',
      'If you wish to reset iptables, you must do so manually by using the "iptables" command.',
      '',
      'If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)',
      "to reset your system's IPVS tables.",
      '',
      'The reset process does not clean your kubeconfig files and you must remove them manually.',
      'Please, check the contents of the $HOME/.kube/config file.',
    ].join('\n'),
  );
}

// The kubeadm distribution, for images with no distribution label (most published cluster images):
// berth makes the cluster's CAs and every master's certificates and kubeconfigs in prepare, `kubeadm init`
// runs on the first master with them, further masters join one at a time with the same files, workers join
// in parallel through their node-local API balancer, and departing masters leave etcd as well as the API.
// Every method returns files and shell for the phases to run.

import { masterKubeconfig } from '../kubeconfig-server.js';
import type { Runtime, RuntimeDefaults } from '../types.js';
import { changeCertificates } from './certificate-change.js';
import { initSteps, joinMasterSteps, master0 } from './control-plane.js';
import { adminConf, kubeDir, pkiDir } from './host-paths.js';
import { deleteMasterSteps, deleteWorkerSteps } from './removal.js';
import { kubeadmResetPaths, resetAction } from './reset.js';
import { type KubeadmState, prepareKubeadm } from './state.js';
import { upgradeSteps } from './upgrade.js';
import { joinWorkerSteps, nodeBalancingAction } from './workers.js';

export type { KubeadmState } from './state.js';

const defaults: RuntimeDefaults = {
  // where sealos-layout rootfs images keep their kubeadm defaults
  configFiles: ['etc/kubeadm.yml', 'etc/kubeadm.yaml'],
  configKinds: [
    'InitConfiguration',
    'ClusterConfiguration',
    'JoinConfiguration',
    'KubeletConfiguration',
    'KubeProxyConfiguration',
  ],
  resetPaths: kubeadmResetPaths,
  certificateDirs: [pkiDir, `${pkiDir}/etcd`],
  certificateKubeconfigs: [
    'admin.conf',
    'super-admin.conf',
    'controller-manager.conf',
    'scheduler.conf',
    'kubelet.conf',
  ].map((f) => `${kubeDir}/${f}`),
};

export const kubeadmRuntime: Runtime<KubeadmState> = {
  name: 'kubeadm',
  defaults,
  prepare: (ctx, previous) => prepareKubeadm(ctx, previous),
  init: initSteps,
  joinMasters: joinMasterSteps,
  joinNodes: joinWorkerSteps,
  deleteMasters: deleteMasterSteps,
  deleteNodes: deleteWorkerSteps,
  reset: (ctx) => resetAction(ctx),
  kubeconfig: (ctx) => masterKubeconfig(master0(ctx), ctx.apiPort, adminConf),
  nodeBalancingSync: nodeBalancingAction,
  upgrade: upgradeSteps,
  changeCertificates: (ctx, change) => changeCertificates(ctx, change),
};

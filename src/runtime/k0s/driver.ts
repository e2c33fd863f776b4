// The k0s distribution, for images labelled apps.sealos.io/distribution=k0s: the image's k0s binary,
// `k0s install controller` and `k0s start` on the first master, further controllers and workers joined
// with tokens the first controller makes for them, /etc/k0s/k0s.yaml merged from berth's defaults, the
// image's etc/k0s.yaml and the Clusterfile's ClusterConfig, the cluster registry through k0s's containerd
// drop-ins, and k0s's own node-local load balancing once there are several controllers. Every method
// returns files and shell for the phases to run.

import { masterKubeconfig } from '../kubeconfig-server.js';
import type { Runtime, RuntimeDefaults } from '../types.js';
import { initSteps, joinControllerSteps } from './control-plane.js';
import { adminConf, berthAdminConf, pkiDir } from './host-paths.js';
import { master0 } from './host-setup.js';
import { deleteControllerSteps, deleteWorkerSteps } from './removal.js';
import { k0sResetPaths, resetAction } from './reset.js';
import { type K0sState, prepareK0s } from './state.js';
import { upgradeSteps } from './upgrade.js';
import { joinWorkerSteps, nodeEndpointAction } from './workers.js';

export type { K0sState } from './state.js';

const defaults: RuntimeDefaults = {
  configFiles: ['etc/k0s.yaml', 'etc/k0s.yml'],
  configKinds: ['ClusterConfig'],
  resetPaths: k0sResetPaths,
  certificateDirs: [pkiDir, `${pkiDir}/etcd`],
  certificateKubeconfigs: [adminConf],
};

export const k0sRuntime: Runtime<K0sState> = {
  name: 'k0s',
  defaults,
  prepare: async (ctx, previous) => prepareK0s(ctx, previous),
  init: initSteps,
  joinMasters: joinControllerSteps,
  joinNodes: joinWorkerSteps,
  deleteMasters: deleteControllerSteps,
  deleteNodes: deleteWorkerSteps,
  reset: (ctx) => resetAction(ctx),
  kubeconfig: (ctx) => masterKubeconfig(master0(ctx), ctx.apiPort, berthAdminConf, 'k0s kubeconfig admin'),
  nodeBalancingSync: nodeEndpointAction,
  upgrade: upgradeSteps,
};

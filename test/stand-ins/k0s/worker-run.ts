// `k0s worker [join-token]`: the token (checked to be a worker token) decoded into
// <data-dir>/kubelet-bootstrap.conf and the cluster CA into <data-dir>/pki/ca.crt when this node has not
// joined yet, then the worker components and the status socket until SIGTERM.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { klog } from '../k3s/standin-log.js';
import { type FlagValues, list, str } from '../kubeadm/cobra-flags.js';
import { stageBinaries } from './embedded-binaries.js';
import { decodeJoinTokenFor } from './join-token.js';
import { type K0sPaths, k0sVersion, RUN_DIR } from './k0s-paths.js';
import { serveStatus } from './status-socket.js';
import { WorkerComponents, WorkerError } from './worker-components.js';

export async function runWorker(p: K0sPaths, values: FlagValues, token: string | undefined): Promise<void> {
  const { k0s, minor } = k0sVersion();
  process.title = 'k0s';
  const decoded = token ? decodeJoinTokenFor('worker', token) : undefined;
  if (!existsSync(p.kubeletConf)) {
    if (decoded) {
      mkdirSync(p.pki, { recursive: true, mode: 0o751 });
      writeFileSync(p.kubeletBootstrapConf, decoded.kubeconfig, { mode: 0o600 });
      writeFileSync(join(p.pki, 'ca.crt'), decoded.caPem, { mode: 0o644 });
    } else if (!existsSync(p.kubeletBootstrapConf)) {
      throw new WorkerError("no join token given: pass it as 'k0s worker [join-token]' or with --token-file");
    }
  }
  klog.info(`k0s ${k0s} starting as worker`);
  mkdirSync(RUN_DIR, { recursive: true });
  stageBinaries(p, { controller: false, worker: true });
  const worker = new WorkerComponents(p, {
    profile: str(values, 'profile') ?? 'default',
    labels: list(values, 'labels'),
    taints: list(values, 'taints'),
    kubeletExtraArgs: str(values, 'kubelet-extra-args') ?? '',
    ...(str(values, 'cri-socket') ? { criSocket: str(values, 'cri-socket') } : {}),
    minor,
    onController: false,
  });
  await worker.start();
  const status = await serveStatus(p.statusSocket, () => ({
    Version: k0s,
    Pid: process.pid,
    PPid: process.ppid,
    Role: 'worker',
    SysInit: '',
    StubFile: '',
    Workloads: true,
    SingleNode: false,
    DataDir: p.dataDir,
    WorkerToAPIConnectionStatus: { Success: existsSync(p.kubeletConf), Message: '' },
  }));
  klog.info('k0s worker is running');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    status.close();
    await worker.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

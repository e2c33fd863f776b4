// `berth cert --alt-names` and `berth cert renew`: certificates made again on an applied cluster by its
// driver, from the CAs in its state. The cluster is planned as an apply plans it (facts, images, driver
// state), the driver's new state is kept before any host changes (the old and the new certificates come
// from the same CAs, so a run cut short leaves every master valid and the next run finishes the rest), and
// the driver's steps run one master after another. After a renew the local admin kubeconfig is fetched
// again, since its client certificate was renewed too. A dry run prints the steps and changes nothing: the
// new state is made in memory only, and neither it nor the kubeconfig is written.

import { ImageStore } from '../image/store.js';
import type { CertificateChange } from '../runtime/types.js';
import { SshPool } from '../ssh/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { NotFoundError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { ClusterOptions } from './apply-cluster.js';
import { runPhases } from './engine.js';
import { sshRunner } from './host-run.js';
import { Journal } from './journal.js';
import { planCluster } from './planned-cluster.js';
import { clusterPaths, loadApplied, loadOrCreateSecrets, saveDriverState, withClusterLock } from './state.js';

export async function changeClusterCertificates(
  name: string,
  change: CertificateChange,
  options: ClusterOptions = {},
): Promise<void> {
  await withClusterLock(name, async () => {
    const loaded = await loadApplied(name);
    if (!loaded)
      throw new NotFoundError(`cluster ${name} does not exist (no ${clusterPaths(name).clusterfile})`);
    const paths = clusterPaths(name);
    const pool = new SshPool({ acceptNewHostKey: options.acceptNewHostKey });
    const concurrency = options.concurrency ?? 20;
    try {
      const journal = await Journal.open(paths.journal);
      const secrets = await loadOrCreateSecrets(name, { save: false });
      const { cluster, cleanup } = await planCluster({
        loaded,
        previous: loaded,
        paths,
        secrets,
        store: new ImageStore(),
        pool,
        journal,
        concurrency,
        signal: options.signal,
      });
      try {
        const makeCertificates = cluster.runtime.changeCertificates;
        if (!makeCertificates)
          throw new UsageError(
            `cluster ${name} runs ${cluster.runtime.name}, which makes its own certificates; berth cert ${change.kind === 'renew' ? 'renew' : '--alt-names'} works on kubeadm clusters`,
          );
        const { state, steps } = await makeCertificates(cluster.runtimeCtx, change);
        if (!options.dryRun) await saveDriverState(name, state);
        cluster.runtimeCtx = { ...cluster.runtimeCtx, state };
        const runner = sshRunner(pool, cluster.masters, { concurrency, signal: options.signal });
        const title =
          change.kind === 'renew'
            ? 'renew the certificates, one master at a time'
            : `add ${change.names.join(', ')} to the API server's certificate, one master at a time`;
        const start = Date.now();
        await runPhases([{ title, plan: () => ({ order: 'sequential', steps }) }], cluster, {
          journal,
          runner,
          options,
        });
        if (options.dryRun) return;
        if (change.kind === 'renew') {
          // the admin kubeconfig berth hands out carries the renewed client certificate too
          const master0 = cluster.masters[0];
          const source = cluster.runtime.kubeconfig(cluster.runtimeCtx);
          if (master0)
            await writeFileAtomic(
              paths.kubeconfig,
              source.rewrite(await runner.fetch(master0.ip, source.remotePath)),
              0o600,
            );
        }
        log.info(
          `certificates of cluster ${name} changed on ${steps.length} master(s) in ${((Date.now() - start) / 1000).toFixed(1)} s`,
        );
      } finally {
        await cleanup();
      }
    } finally {
      await pool.closeAll();
    }
  });
}

import { writeFileAtomic } from '../../util/atomic.js';
import { errorMessage, TimeoutError } from '../../util/errors.js';
import { startProgress } from '../../util/progress.js';
import { listNodes } from '../kube.js';
import type { CheckPhase } from '../phase.js';

// Fetches the admin kubeconfig from the first master, rewrites it to reach the API from this machine,
// keeps it in the state dir (0600), then waits until every host is a Ready node in the API.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const waitReady: CheckPhase = {
  title: 'wait for every node to be Ready',
  summary: (c) =>
    `fetch the kubeconfig from ${c.masters[0]?.ip} and wait for ${c.hosts.length} Ready node(s)`,
  async check(c, engine) {
    const source = c.runtime.kubeconfig(c.runtimeCtx);
    const master0 = c.masters[0];
    if (!master0) throw new Error('no master');
    const kubeconfig = source.rewrite(await engine.runner.fetch(master0.ip, source.remotePath));
    await writeFileAtomic(c.paths.kubeconfig, kubeconfig, 0o600);
    const wanted = c.hosts.map((h) => ({ ip: h.ip, name: c.facts.get(h.ip)?.hostname ?? h.ip }));
    const timeoutMs = (engine.options.readyTimeout ?? 300) * 1000;
    const deadline = Date.now() + timeoutMs;
    const progress = startProgress('nodes Ready', wanted.length);
    let missing = wanted;
    let lastError = '';
    while (Date.now() < deadline) {
      engine.options.signal?.throwIfAborted();
      try {
        const nodes = await listNodes(kubeconfig);
        missing = wanted.filter(
          (w) => !nodes.some((n) => n.ready && (n.name === w.name || n.internalIp === w.ip)),
        );
        lastError = '';
      } catch (err) {
        lastError = errorMessage(err);
      }
      progress.update(wanted.length - missing.length);
      if (missing.length === 0) {
        progress.stop(`${wanted.length} node(s) Ready`);
        return;
      }
      await sleep(2000);
    }
    progress.fail();
    const why = lastError ? ` (API: ${lastError})` : '';
    throw new TimeoutError(
      `nodes not Ready after ${timeoutMs / 1000} s: ${missing.map((m) => `${m.name} (${m.ip})`).join(', ')}${why}`,
    );
  },
};

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { errorMessage, TimeoutError } from '../../util/errors.js';
import { startProgress } from '../../util/progress.js';
import { type ApplyContext, hostSpec, requireRuntime } from '../context.js';
import { listNodes } from '../kube.js';
import type { Phase } from '../phase.js';

// Fetches the admin kubeconfig from the first master, rewrites it to reach the API from this machine,
// keeps it in the state dir (0600), then waits until every host is a Ready node in the API.

export async function fetchKubeconfig(ctx: ApplyContext): Promise<string> {
  const { runtime, rctx } = requireRuntime(ctx);
  const source = runtime.kubeconfig(rctx);
  const master0 = ctx.masters[0];
  if (!master0) throw new Error('no master');
  const dir = await mkdtemp(join(tmpdir(), 'berth-kubeconfig-'));
  try {
    const tmp = join(dir, 'kubeconfig');
    const session = await ctx.pool.session(hostSpec(master0));
    await session.fetchFile(source.remotePath, tmp, { sudo: true, signal: ctx.options.signal });
    const text = source.rewrite(await readFile(tmp, 'utf8'));
    await writeFileAtomic(ctx.paths.kubeconfig, text, 0o600);
    return text;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const waitReady: Phase<ApplyContext> = {
  title: 'wait for every node to be Ready',
  shouldRun: () => true,
  dryRun: (ctx) => [
    `fetch the kubeconfig from ${ctx.masters[0]?.ip} and wait for ${ctx.hosts.length} Ready node(s)`,
  ],
  async run(ctx) {
    const kubeconfig = await fetchKubeconfig(ctx);
    const wanted = ctx.hosts.map((h) => ({ ip: h.ip, name: ctx.facts.get(h.ip)?.hostname ?? h.ip }));
    const timeoutMs = (ctx.options.readyTimeout ?? 300) * 1000;
    const deadline = Date.now() + timeoutMs;
    const progress = startProgress('nodes Ready', wanted.length);
    let missing = wanted;
    let lastError = '';
    while (Date.now() < deadline) {
      ctx.options.signal?.throwIfAborted();
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
    progress.stop();
    const why = lastError ? ` (API: ${lastError})` : '';
    throw new TimeoutError(
      `nodes not Ready after ${timeoutMs / 1000} s: ${missing.map((m) => `${m.name} (${m.ip})`).join(', ')}${why}`,
    );
  },
};

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedHost } from '../clusterfile/index.js';
import { actionShell } from '../host/action.js';
import { LocalTree, type SshPool } from '../ssh/index.js';
import { sendTree } from '../ssh/relay/send-tree.js';
import type { HostSpec } from '../ssh/types.js';
import { log } from '../util/log.js';
import { formatBytes } from '../util/progress.js';
import { hostSpec } from './host-spec.js';
import type { HostRunner, TreeCopy } from './phase.js';

// The engine's hands over SSH: an action script on one host's stdin, a tree sent once and relayed by the
// hosts, a file fetched back.

export function sshRunner(
  pool: SshPool,
  hosts: ResolvedHost[],
  opts: { concurrency: number; signal?: AbortSignal },
): HostRunner {
  const spec = (ip: string): HostSpec => {
    const h = hosts.find((x) => x.ip === ip);
    if (!h) throw new Error(`host ${ip} is not part of the cluster`);
    return hostSpec(h);
  };
  return {
    async run(host, script, onLine) {
      const session = await pool.session(spec(host));
      await session.exec(actionShell, { sudo: true, stdin: script, signal: opts.signal, onLine });
    },
    async copy(copy: TreeCopy, ips: string[]) {
      let tree = await LocalTree.scan(copy.from);
      for (const name of copy.without ?? []) tree = tree.without(name);
      const r = await sendTree({ pool, ...opts }, tree, ips.map(spec), copy.to, {
        keep: copy.keep,
        what: copy.what,
      });
      log.info(
        `${copy.what} on ${ips.length - r.failed.size} host(s): ${formatBytes(r.bytesSent)} sent from this machine`,
      );
      return { failed: r.failed, bytesSent: r.bytesSent };
    },
    async fetch(host, path) {
      const dir = await mkdtemp(join(tmpdir(), 'berth-fetch-'));
      try {
        const local = join(dir, 'file');
        const session = await pool.session(spec(host));
        await session.fetchFile(path, local, { sudo: true, signal: opts.signal });
        return await readFile(local, 'utf8');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

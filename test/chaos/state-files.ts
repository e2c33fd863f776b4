// What "no state file is corrupt" means, file by file: after any interruption every file berth keeps under
// BERTH_HOME for a cluster still parses as what it is, and the cluster's state stays private (dir 0700,
// files 0600). Used by the fault campaign and the soak after each fault or cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadDriverState } from '../../src/apply/state.js';
import { loadClusterfile } from '../../src/clusterfile/index.js';
import { decryptSecret } from '../../src/util/secrets.js';

/** Each journal line is one whole JSON entry naming its host and step; a torn line is a corrupt file. */
function checkJournal(text: string): void {
  if (text !== '' && !text.endsWith('\n')) throw new Error('ends in a torn line');
  for (const [i, line] of text.split('\n').filter(Boolean).entries()) {
    const e = JSON.parse(line) as { host?: unknown; step?: unknown };
    if (typeof e.host !== 'string' || typeof e.step !== 'string')
      throw new Error(`line ${i + 1} names no host and step`);
  }
}

const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * Problems with the state of `cluster` under `home` (empty when all is well): each file of the cluster's
 * dir parsed by what reads it, the dir 0700 and its files 0600, no temp file left of an atomic write; and
 * berth's own top-level files (secret key and check, known_hosts) 0600 and readable.
 */
export async function stateProblems(home: string, cluster: string): Promise<string[]> {
  const problems: string[] = [];
  const dir = join(home, cluster);
  const check = async (path: string, fn: (text: string) => unknown | Promise<unknown>) => {
    try {
      await fn(readFileSync(path, 'utf8'));
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (mode(path) !== 0o600) problems.push(`${path}: mode ${mode(path).toString(8)}, not 600`);
  };
  for (const name of ['secret.key', 'secret.check', 'known_hosts']) {
    const path = join(home, name);
    if (statSafe(path)) await check(path, () => undefined);
  }
  if (!statSafe(dir)) return problems;
  if (mode(dir) !== 0o700) problems.push(`${dir}: mode ${mode(dir).toString(8)}, not 700`);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) continue; // the merged rootfs and apps trees, the lock dir
    if (/^\..*\.tmp$/.test(name)) {
      problems.push(`${path}: temp file of an unfinished write left behind`);
      continue;
    }
    switch (name) {
      case 'Clusterfile':
        await check(path, async () => {
          const loaded = await loadClusterfile(path);
          if (loaded.cluster.metadata.name !== cluster)
            throw new Error(`names ${loaded.cluster.metadata.name}`);
        });
        break;
      case 'journal.jsonl':
        await check(path, checkJournal);
        break;
      case 'secrets.json':
        await check(path, (t) => {
          const s = JSON.parse(t) as Record<string, string>;
          for (const v of Object.values(s)) decryptSecret(v);
        });
        break;
      case 'driver-state':
        await check(path, () => loadDriverState(cluster));
        break;
      case 'kubeconfig':
        await check(path, (t) => {
          const k = parseYaml(t) as { clusters?: unknown[] };
          if (!Array.isArray(k?.clusters)) throw new Error('no clusters in it');
        });
        break;
      case '.lock.owner':
        break; // who holds the lock; gone or stale after a kill, read by the next run
      default:
        await check(path, () => undefined);
    }
  }
  return problems;
}

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic.js';
import { berthPath } from '../../util/paths.js';

// Which repositories are known to hold a blob, remembered across runs (skopeo keeps such a cache too):
// pushing a blob to another repository of the same registry can then mount it instead of uploading it.
// Only a hint — a wrong entry costs one refused mount request.

const perDigest = 4;
const maxDigests = 20_000;

type Table = Record<string, string[]>;

function cachePath(): string {
  return berthPath('cache', 'blob-locations.json');
}

async function load(): Promise<Table> {
  try {
    const parsed = JSON.parse(await readFile(cachePath(), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Table) : {};
  } catch {
    return {};
  }
}

/** Repositories of `registry` other than `except` that held `digest`. */
export async function mountCandidates(registry: string, digest: string, except: string): Promise<string[]> {
  const table = await load();
  const prefix = `${registry}/`;
  return (table[digest] ?? [])
    .filter((loc) => loc.startsWith(prefix))
    .map((loc) => loc.slice(prefix.length))
    .filter((repo) => repo !== except);
}

export async function recordLocations(
  registry: string,
  repository: string,
  digests: string[],
): Promise<void> {
  if (digests.length === 0) return;
  const table = await load();
  const loc = `${registry}/${repository}`;
  for (const d of digests) {
    const list = (table[d] ?? []).filter((l) => l !== loc);
    list.unshift(loc);
    table[d] = list.slice(0, perDigest);
  }
  const keys = Object.keys(table);
  // Oldest entries (inserted first) go when the table grows past its bound.
  for (const k of keys.slice(0, Math.max(0, keys.length - maxDigests))) delete table[k];
  await writeFileAtomic(cachePath(), JSON.stringify(table));
}

import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { errorMessage, RegistryError } from '../util/errors.js';
import { log } from '../util/log.js';
import { mapLimit } from '../util/pool.js';
import { formatBytes, startProgress } from '../util/progress.js';
import { mirrorRepository, parseReference } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry/client.js';
import { downloadBlob } from './registry/download.js';
import {
  fromFirstSource,
  loadRegistriesConf,
  type PullSource,
  pullSources,
  sourceOptions,
} from './registry/registries-conf.js';
import { chooseChildren, fetchImageTree, type ImageTree, manifestBlobs } from './registry/tree.js';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './types.js';

// Writes images into a directory in the on-disk layout of the distribution registry, so that a stock
// `registry` pointed at it serves them. Images are stored under their repository without the source host
// (mirrorRepository). Blob data goes first, then the repository links, the tag's current/link last, each
// by temp + rename, so a registry serving the directory meanwhile never sees a tag it cannot serve.

export interface SaveImagesOptions extends RegistryOptions {
  /** Platforms kept from multi-platform images; each must exist in every index. */
  platforms: Platform[];
  /** Blob downloads at once across all images (sealos' --max-pull-procs); default 5. */
  maxParallel?: number;
}

export interface SaveImagesResult {
  /** References fetched in this run. */
  saved: string[];
  /** References already complete in the directory. */
  skipped: string[];
  /** Bytes downloaded. */
  downloaded: number;
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, '');

class RegistryDir {
  readonly v2: string;
  constructor(readonly dir: string) {
    this.v2 = join(dir, 'docker', 'registry', 'v2');
  }
  blobData(digest: string): string {
    const hex = hexOf(digest);
    return join(this.v2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }
  repo(name: string): string {
    return join(this.v2, 'repositories', name);
  }
  layerLink(repo: string, digest: string): string {
    return join(this.repo(repo), '_layers', 'sha256', hexOf(digest), 'link');
  }
  revisionLink(repo: string, digest: string): string {
    return join(this.repo(repo), '_manifests', 'revisions', 'sha256', hexOf(digest), 'link');
  }
  tagCurrent(repo: string, tag: string): string {
    return join(this.repo(repo), '_manifests', 'tags', tag, 'current', 'link');
  }
  tagIndex(repo: string, tag: string, digest: string): string {
    return join(this.repo(repo), '_manifests', 'tags', tag, 'index', 'sha256', hexOf(digest), 'link');
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readLink(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return /^sha256:[a-f0-9]{64}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** A link file holds the digest and nothing else: the registry answers 500 to a trailing newline. */
function writeLink(path: string, digest: string): Promise<void> {
  return writeFileAtomic(path, digest);
}

/** True when the revision `digest` of `repo` and everything it needs for `platforms` are on disk. */
async function isComplete(
  layout: RegistryDir,
  repo: string,
  digest: string,
  platforms: Platform[],
): Promise<boolean> {
  if ((await readLink(layout.revisionLink(repo, digest))) !== digest) return false;
  let bytes: Buffer;
  try {
    bytes = await readFile(layout.blobData(digest));
  } catch {
    return false;
  }
  const json = JSON.parse(bytes.toString('utf8')) as Partial<ImageIndex & ImageManifest>;
  if (Array.isArray(json.manifests) && !json.config) {
    let children: Descriptor[];
    try {
      children = chooseChildren(json as ImageIndex, { platforms }, repo);
    } catch {
      return false;
    }
    for (const c of children) if (!(await isComplete(layout, repo, c.digest, platforms))) return false;
    return true;
  }
  for (const b of manifestBlobs(json as ImageManifest)) {
    if ((await sizeOf(layout.blobData(b.digest))) !== b.size) return false;
    if ((await readLink(layout.layerLink(repo, b.digest))) !== b.digest) return false;
  }
  return true;
}

/** Caps the work running at once across all images. */
function limiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export async function saveImagesToRegistryDir(
  refs: string[],
  dir: string,
  opts: SaveImagesOptions,
): Promise<SaveImagesResult> {
  const layout = new RegistryDir(dir);
  const partialDir = join(dir, '.partial');
  const maxParallel = opts.maxParallel ?? 5;
  const limit = limiter(maxParallel);
  const clients = new Map<string, RegistryClient>();
  const clientFor = (source: PullSource) => {
    const key = `${source.registry}|${source.insecure}`;
    let c = clients.get(key);
    if (!c) {
      c = new RegistryClient(source.registry, sourceOptions(opts, source));
      clients.set(key, c);
    }
    return c;
  };
  const blobJobs = new Map<string, Promise<void>>();
  const result: SaveImagesResult = { saved: [], skipped: [], downloaded: 0 };
  const unique = [...new Set(refs)];
  // A blocked registry or a bad registries.conf fails before anything is fetched.
  const conf = await loadRegistriesConf(opts.registriesConf);
  for (const text of unique) pullSources(conf, text);
  const progress = startProgress(`save ${unique.length} images`, 0, 'bytes');
  let total = 0;
  let done = 0;

  const fetchBlob = (client: RegistryClient, repository: string, b: Descriptor): Promise<void> => {
    let job = blobJobs.get(b.digest);
    if (!job) {
      job = (async () => {
        const dest = layout.blobData(b.digest);
        if ((await sizeOf(dest)) === b.size) return;
        total += b.size;
        progress.setTotal(total);
        await limit(() =>
          downloadBlob(client, repository, b, {
            dest,
            partialDir,
            onBytes: (n) => {
              done += n;
              result.downloaded += n;
              progress.update(done);
            },
          }),
        );
      })();
      blobJobs.set(b.digest, job);
    }
    return job;
  };

  const saveOne = async (text: string): Promise<void> => {
    const ref = parseReference(text);
    const repo = mirrorRepository(ref);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const current = ref.tag && !ref.digest ? await readLink(layout.tagCurrent(repo, ref.tag)) : ref.digest;
    if (current && (await isComplete(layout, repo, current, opts.platforms))) {
      result.skipped.push(text);
      return;
    }
    // Mirrors from registries.conf first; the image is stored under its own repository all the same.
    const { client, source, tree } = await fromFirstSource(text, opts.registriesConf, async (source) => {
      const client = clientFor(source);
      const tree: ImageTree = await limit(() =>
        fetchImageTree(client, source.repository, reference, { platforms: opts.platforms }),
      );
      return { client, source, tree };
    });
    await Promise.all(tree.blobs.map((b) => fetchBlob(client, source.repository, b)));
    const manifests = [...tree.children, tree.top];
    for (const m of manifests) {
      if ((await sizeOf(layout.blobData(m.digest))) !== m.bytes.length)
        await writeFileAtomic(layout.blobData(m.digest), m.bytes);
    }
    for (const b of tree.blobs) await writeLink(layout.layerLink(repo, b.digest), b.digest);
    for (const m of manifests) await writeLink(layout.revisionLink(repo, m.digest), m.digest);
    if (ref.tag && !ref.digest) {
      await writeLink(layout.tagIndex(repo, ref.tag, tree.top.digest), tree.top.digest);
      await writeLink(layout.tagCurrent(repo, ref.tag), tree.top.digest);
    }
    result.saved.push(text);
  };

  await mkdir(join(layout.v2, 'blobs'), { recursive: true });
  try {
    await mapLimit(unique, maxParallel, async (text) => {
      try {
        await saveOne(text);
      } catch (err) {
        const msg = errorMessage(err);
        throw new RegistryError(msg.includes(text) ? msg : `saving image ${text}: ${msg}`, { cause: err });
      }
    });
  } catch (err) {
    progress.fail();
    throw err;
  }
  progress.stop(
    `saved ${result.saved.length} images (${formatBytes(result.downloaded)} downloaded), ${result.skipped.length} already present`,
  );
  // Report in the order given, not the order the parallel saves finished.
  const order = (list: string[]) => unique.filter((r) => list.includes(r));
  result.saved = order(result.saved);
  result.skipped = order(result.skipped);
  await rmdir(partialDir).catch(() => undefined);
  log.debug(`registry dir ${dir}: ${blobJobs.size} blobs`);
  return result;
}

export interface SaveContextImagesOptions extends RegistryOptions {
  platforms: Platform[];
  /** Images pulled at once (berth build --max-pull-procs). */
  maxPullProcs?: number;
}

/**
 * What `berth build` runs before packing layers: every image the context names, saved into
 * CONTEXT/registry for the given platforms.
 */
export async function saveContextImages(
  contextDir: string,
  opts: SaveContextImagesOptions,
): Promise<SaveImagesResult> {
  const { collectImageList } = await import('./image-list.js');
  const refs = await collectImageList(contextDir);
  if (refs.length === 0) return { saved: [], skipped: [], downloaded: 0 };
  return saveImagesToRegistryDir(refs, join(contextDir, 'registry'), {
    ...opts,
    maxParallel: opts.maxPullProcs,
  });
}

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mapLimit } from '../../util/pool.js';
import { startProgress } from '../../util/progress.js';
import { formatReference, parseReference } from '../reference.js';
import { ImageStore } from '../store.js';
import { type Descriptor, hostPlatform, type Platform } from '../types.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { downloadBlob } from './download.js';
import { recordLocations } from './locations.js';
import { fromFirstSource, sourceOptions } from './registries-conf.js';
import { fetchImageTree } from './tree.js';

export const defaultBlobParallel = 8;

export interface PullOptions extends RegistryOptions {
  /** Platform to pick from an index; the host's by default. */
  platform?: Platform;
  /** Keep every platform of an index (the index itself is then tagged). */
  allPlatforms?: boolean;
  /** Blobs downloaded at once. */
  maxParallel?: number;
  store?: ImageStore;
}

export interface PullResult {
  /** Canonical name the image is tagged under in the store. */
  name: string;
  descriptor: Descriptor;
  /** Bytes actually downloaded (blobs already stored are skipped). */
  downloaded: number;
}

/**
 * Pulls an image into the local store. From an index, one platform's manifest is kept and tagged (as
 * docker does), or with allPlatforms the index and every child. Manifest bytes are stored as received.
 */
export async function pullImage(reference: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(reference);
  const store = opts.store ?? new ImageStore();
  const tag = ref.digest ?? ref.tag ?? 'latest';
  const choice = opts.allPlatforms
    ? { all: true as const }
    : { platforms: [opts.platform ?? hostPlatform()] };
  // Mirrors from registries.conf first, then the registry itself; the image keeps its own name.
  const { client, tree, source } = await fromFirstSource(reference, opts.registriesConf, async (source) => {
    const client = new RegistryClient(source.registry, sourceOptions(opts, source));
    return { client, source, tree: await fetchImageTree(client, source.repository, tag, choice) };
  });

  const missing: Descriptor[] = [];
  for (const b of tree.blobs) if (!(await store.hasBlob(b.digest))) missing.push(b);
  const total = missing.reduce((n, b) => n + b.size, 0);
  const name = formatReference(ref);
  const progress = startProgress(`pull ${name}`, total, 'bytes');
  let done = 0;
  const partialDir = join(store.root, 'partial');
  try {
    await mapLimit(missing, opts.maxParallel ?? defaultBlobParallel, async (b) => {
      const dest = store.blobPath(b.digest);
      await mkdir(dirname(dest), { recursive: true });
      await downloadBlob(client, source.repository, b, {
        dest,
        partialDir,
        onBytes: (n) => {
          done += n;
          progress.update(done);
        },
      });
      await store.hasBlob(b.digest); // records a lease, so a concurrent gc spares it until tagged
    });
  } catch (err) {
    progress.fail();
    throw err;
  }
  progress.stop();
  for (const c of tree.children) await store.putBlob(c.bytes, { digest: c.digest, size: c.bytes.length });
  let descriptor: Descriptor;
  const only = tree.children.length === 1 && !opts.allPlatforms ? tree.children[0] : undefined;
  if (only) {
    descriptor = { mediaType: only.mediaType, digest: only.digest, size: only.bytes.length };
    if (only.descriptor.platform) descriptor.platform = only.descriptor.platform;
  } else {
    await store.putBlob(tree.top.bytes, { digest: tree.top.digest, size: tree.top.bytes.length });
    descriptor = { mediaType: tree.top.mediaType, digest: tree.top.digest, size: tree.top.bytes.length };
  }
  await store.tag(name, descriptor);
  await recordLocations(
    source.registry,
    source.repository,
    tree.blobs.map((b) => b.digest),
  );
  return { name, descriptor, downloaded: total };
}

import { NotFoundError } from '../util/errors.js';
import { familiarName, parseReference } from './reference.js';
import { canonicalName, type ImageStore } from './store.js';
import {
  type Descriptor,
  formatPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type Platform,
} from './types.js';

// What `berth images`, `inspect` and `rmi` show and do, kept out of the CLI files.

export interface ImageRow {
  name: string;
  /** Config digest for a single image, manifest digest for an index. */
  id: string;
  digest: string;
  /** Bytes of the manifest, config and layers as stored (compressed). */
  size: number;
  created?: string;
  platforms: string[];
}

export async function listImages(store: ImageStore): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (const { name, descriptor } of await store.list()) {
    rows.push(await describe(store, name, descriptor));
  }
  return rows;
}

async function describe(store: ImageStore, name: string, d: Descriptor): Promise<ImageRow> {
  const shown = familiarName(parseReference(name));
  const json = await store.readJson<ImageManifest & ImageIndex>(d.digest).catch(() => undefined);
  if (!json) return { name: shown, id: d.digest, digest: d.digest, size: d.size, platforms: [] };
  if (isIndexMediaType(d.mediaType) || Array.isArray(json.manifests)) {
    let size = d.size;
    const platforms: string[] = [];
    let created: string | undefined;
    for (const child of json.manifests) {
      if (!(await store.hasBlob(child.digest))) continue;
      const row = await describe(store, name, child);
      size += row.size;
      created ??= row.created;
      platforms.push(...row.platforms);
    }
    return { name: shown, id: d.digest, digest: d.digest, size, created, platforms };
  }
  const config = await store.readJson<ImageConfig>(json.config.digest).catch(() => undefined);
  const size = d.size + json.config.size + json.layers.reduce((n, l) => n + l.size, 0);
  return {
    name: shown,
    id: json.config.digest,
    digest: d.digest,
    size,
    created: config?.created,
    platforms: config
      ? [formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant })]
      : [],
  };
}

export interface ImageDetails {
  name: string;
  digest: string;
  id: string;
  platform: string;
  created?: string;
  author?: string;
  labels: Record<string, string>;
  env: string[];
  cmd?: string[];
  entrypoint?: string[];
  layers: Array<{ digest: string; mediaType: string; size: number; diffId?: string }>;
  size: number;
  config: ImageConfig;
}

export async function inspectImage(
  store: ImageStore,
  ref: string,
  platform?: Platform,
): Promise<ImageDetails> {
  const img = await store.image(ref, platform);
  const c = img.config;
  return {
    name: img.name ? familiarName(parseReference(img.name)) : ref,
    digest: img.manifestDescriptor.digest,
    id: img.configDescriptor.digest,
    platform: formatPlatform({ os: c.os, architecture: c.architecture, variant: c.variant }),
    created: c.created,
    author: c.author,
    labels: c.config?.Labels ?? {},
    env: c.config?.Env ?? [],
    cmd: c.config?.Cmd,
    entrypoint: c.config?.Entrypoint,
    layers: img.manifest.layers.map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffId: c.rootfs.diff_ids[i],
    })),
    size: img.manifest.layers.reduce((n, l) => n + l.size, 0),
    config: c,
  };
}

/**
 * Removes names: a name removes itself; an image id removes every name of that image. Every ref is
 * looked up before any name is removed, so that one unknown ref removes nothing. Returns the removed
 * names. Blobs are freed by a following gc.
 */
export async function removeImages(store: ImageStore, refs: string[]): Promise<string[]> {
  const entries = await store.list();
  const targets = new Set<string>();
  const missing: string[] = [];
  for (const ref of refs) {
    const names = await namesOf(store, entries, ref);
    if (names.length === 0) missing.push(ref);
    for (const n of names) targets.add(n);
  }
  if (missing.length > 0)
    throw new NotFoundError(
      `${missing.length === 1 ? `image ${missing[0]} is` : `images ${missing.join(', ')} are`} not in the local store (see berth images); nothing was removed`,
    );
  for (const n of targets) await store.untag(n);
  return [...targets];
}

/** The stored names `ref` stands for: itself when stored, else every name of the image it identifies. */
async function namesOf(
  store: ImageStore,
  entries: Array<{ name: string; descriptor: Descriptor }>,
  ref: string,
): Promise<string[]> {
  let name: string | undefined;
  try {
    name = canonicalName(ref);
  } catch {
    name = undefined;
  }
  if (name && entries.some((e) => e.name === name)) return [name];
  let desc: Descriptor;
  try {
    desc = await store.resolve(ref);
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
  return entries.filter((e) => e.descriptor.digest === desc.digest).map((e) => e.name);
}

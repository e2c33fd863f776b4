import { RegistryError } from '../../util/errors.js';
import {
  type Descriptor,
  formatPlatform,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type Platform,
  platformMatches,
} from '../types.js';
import type { FetchedManifest, RegistryClient } from './client.js';

// What one image reference amounts to in a registry: the manifest or index under the reference, the
// platform manifests chosen from an index, and the blobs (configs and layers) they need.

export interface ImageTree {
  top: FetchedManifest;
  /** Platform manifests fetched from an index (empty when `top` is itself a manifest). */
  children: Array<FetchedManifest & { descriptor: Descriptor }>;
  /** Config and layer descriptors, each digest once. */
  blobs: Descriptor[];
}

export type PlatformChoice = { all: true } | { platforms: Platform[] };

function parseJson<T>(m: FetchedManifest, where: string): T {
  try {
    return JSON.parse(m.bytes.toString('utf8')) as T;
  } catch {
    throw new RegistryError(`${where}: manifest ${m.digest} is not JSON`);
  }
}

/** A descriptor as later steps use it: an object with a string digest and a numeric size. */
function isDescriptor(d: unknown): d is Descriptor {
  if (!d || typeof d !== 'object') return false;
  const { digest, size } = d as { digest?: unknown; size?: unknown };
  return typeof digest === 'string' && (size === undefined || typeof size === 'number');
}

export function isIndex(m: FetchedManifest, where: string): boolean {
  if (isIndexMediaType(m.mediaType)) return true;
  const json = parseJson<{ manifests?: unknown; config?: unknown } | null>(m, where);
  return !!json && Array.isArray(json.manifests) && !json.config;
}

/** Picks the index entries for the wanted platforms; every wanted platform must be there. */
export function chooseChildren(index: ImageIndex, choice: PlatformChoice, where: string): Descriptor[] {
  if ('all' in choice) return index.manifests;
  const out: Descriptor[] = [];
  for (const p of choice.platforms) {
    const hit = index.manifests.find((d) => platformMatches(p, d.platform));
    if (!hit) {
      const have = index.manifests
        .map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown'))
        .join(', ');
      throw new RegistryError(
        `${where}: no ${formatPlatform(p)} image in its index (it has: ${have}); pass --platform`,
      );
    }
    if (!out.some((d) => d.digest === hit.digest)) out.push(hit);
  }
  return out;
}

export function manifestBlobs(manifest: ImageManifest): Descriptor[] {
  return [manifest.config, ...manifest.layers];
}

export async function fetchImageTree(
  client: RegistryClient,
  repository: string,
  reference: string,
  choice: PlatformChoice,
): Promise<ImageTree> {
  const where = `${client.registry}/${repository}:${reference}`;
  const top = await client.getManifest(repository, reference);
  const children: ImageTree['children'] = [];
  const manifests: ImageManifest[] = [];
  if (isIndex(top, where)) {
    const index = parseJson<ImageIndex>(top, where);
    if (!index || !Array.isArray(index.manifests) || !index.manifests.every(isDescriptor))
      throw new RegistryError(`${where}: index ${top.digest} has no list of manifest descriptors`);
    for (const d of chooseChildren(index, choice, where)) {
      const child = await client.getManifest(repository, d.digest);
      if (isIndex(child, where))
        throw new RegistryError(`${where}: nested indexes are not supported (${d.digest})`);
      children.push({ ...child, descriptor: d });
      manifests.push(parseJson<ImageManifest>(child, where));
    }
  } else {
    manifests.push(parseJson<ImageManifest>(top, where));
  }
  const seen = new Set<string>();
  const blobs: Descriptor[] = [];
  for (const m of manifests) {
    if (!m || !isDescriptor(m.config) || !Array.isArray(m.layers) || !m.layers.every(isDescriptor))
      throw new RegistryError(`${where}: manifest without config or layers`);
    for (const b of manifestBlobs(m)) {
      if (seen.has(b.digest)) continue;
      seen.add(b.digest);
      blobs.push(b);
    }
  }
  return { top, children, blobs };
}

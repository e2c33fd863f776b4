import type { ImageStore } from './store.js';
import { type Descriptor, type ImageConfig, type ImageManifest, MediaType } from './types.js';

// New images berth makes (build, merge) are OCI manifests; layers taken from Docker-typed images get
// the OCI media type of the same format, so that one manifest never mixes the two families.

const ociLayerType: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
};

export function asOciLayer(d: Descriptor): Descriptor {
  return { mediaType: ociLayerType[d.mediaType] ?? d.mediaType, digest: d.digest, size: d.size };
}

/** Stores config (an object or its exact bytes) and manifest, tags the manifest as `name` when given, and returns its descriptor. */
export async function writeImage(
  store: ImageStore,
  config: ImageConfig | Uint8Array,
  layers: Descriptor[],
  name?: string,
  /** Collects digests of blobs stored for the first time. */
  created?: Set<string>,
): Promise<{ manifestDescriptor: Descriptor; configDescriptor: Descriptor }> {
  // Config bytes given as received keep their digest (the image id); an object is serialised here.
  const configBlob = await store.putBlob(
    config instanceof Uint8Array ? config : Buffer.from(JSON.stringify(config)),
    undefined,
    created,
  );
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, ...configBlob };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: layers.map(asOciLayer),
  };
  const manifestBlob = await store.putBlob(Buffer.from(JSON.stringify(manifest)), undefined, created);
  const manifestDescriptor: Descriptor = { mediaType: MediaType.ociManifest, ...manifestBlob };
  if (name) await store.tag(name, manifestDescriptor);
  return { manifestDescriptor, configDescriptor };
}

/** The config timestamp for reproducible images: SOURCE_DATE_EPOCH, else the epoch. */
export function reproducibleCreated(): string {
  const n = Number.parseInt(process.env.SOURCE_DATE_EPOCH ?? '0', 10);
  return new Date((Number.isFinite(n) && n >= 0 ? n : 0) * 1000).toISOString().replace('.000Z', 'Z');
}

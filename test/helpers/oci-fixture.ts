import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Platform } from '../../src/image/types.js';

// Test images written as an OCI image layout (then copied into registries with skopeo), so that tests
// need no image tooling but what CI installs.

export interface Variant {
  platform: Platform;
  /** Path inside the layer → content. */
  files: Record<string, Buffer>;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const p = pack();
  for (const [name, data] of Object.entries(files).sort()) {
    p.entry({ name, size: data.length, mode: 0o755, mtime: new Date(0) }, data);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function putBlob(layout: string, data: Buffer): string {
  const d = sha(data);
  const dir = join(layout, 'blobs', 'sha256');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, d.slice(7)), data);
  return d;
}

/** Random bytes that gzip cannot shrink, so that blob sizes are what the test asks for. */
export function noise(bytes: number): Buffer {
  return randomBytes(bytes);
}

/**
 * Adds an image to the OCI layout at `layout` under `tag`: a manifest, or an index when several variants
 * are given. Returns the digest of what the tag points to and of each platform manifest.
 */
export async function writeOciImage(
  layout: string,
  tag: string,
  variants: Variant[],
): Promise<{ digest: string; children: string[] }> {
  mkdirSync(layout, { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const children: Array<{ digest: string; size: number; platform: Platform }> = [];
  for (const v of variants) {
    const tar = await tarOf(v.files);
    const gz = gzipSync(tar, { level: 1 });
    const layer = putBlob(layout, gz);
    const config = Buffer.from(
      JSON.stringify({
        architecture: v.platform.architecture,
        os: v.platform.os,
        config: { Labels: { tag } },
        rootfs: { type: 'layers', diff_ids: [sha(tar)] },
      }),
    );
    const configDigest = putBlob(layout, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: gz.length },
        ],
      }),
    );
    children.push({ digest: putBlob(layout, manifest), size: manifest.length, platform: v.platform });
  }
  let top: { mediaType: string; digest: string; size: number };
  if (children.length === 1) {
    const c = children[0]!;
    top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.size };
  } else {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: c.digest,
          size: c.size,
          platform: c.platform,
        })),
      }),
    );
    top = {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: putBlob(layout, index),
      size: index.length,
    };
  }
  const indexPath = join(layout, 'index.json');
  const index = existsSync(indexPath)
    ? (JSON.parse(readFileSync(indexPath, 'utf8')) as {
        manifests: Array<{ annotations?: Record<string, string> }>;
      })
    : { schemaVersion: 2, manifests: [] };
  index.manifests = index.manifests.filter(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag,
  );
  index.manifests.push({ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } });
  writeFileSync(indexPath, JSON.stringify(index));
  return { digest: top.digest, children: children.map((c) => c.digest) };
}

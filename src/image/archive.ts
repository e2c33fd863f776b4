import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { InputError, localFileError, RegistryError } from '../util/errors.js';
import { interruptSignal, removeOnExit } from '../util/interrupt.js';
import { log } from '../util/log.js';
import { openTar } from './layer-unpack.js';
import { familiarName, parseReference } from './reference.js';
import { canonicalName, type ImageStore, refNameAnnotation } from './store.js';
import {
  type Descriptor,
  hostPlatform,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
} from './types.js';

// Image archives. oci-archive: a tar of an OCI image layout. docker-archive: the same layout plus the
// `manifest.json` that `docker load` reads (as Docker 25 writes it), so one reader handles both; older
// docker archives (`<id>/layer.tar`, `<id>.json`) are read too.

export type ArchiveFormat = 'oci-archive' | 'docker-archive';

const containerdName = 'io.containerd.image.name';
const smallFileLimit = 16 << 20;

export async function saveImages(
  store: ImageStore,
  refs: string[],
  file: string,
  format: ArchiveFormat = 'oci-archive',
  platform: Platform = hostPlatform(),
): Promise<void> {
  const blobs = new Map<string, number>();
  const index: Descriptor[] = [];
  const dockerManifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  for (const ref of refs) {
    const name = await nameFor(store, ref);
    const desc = await store.resolve(ref);
    await collectBlobs(store, desc, blobs);
    index.push({
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      annotations: { [containerdName]: name, [refNameAnnotation]: name },
    });
    if (format === 'docker-archive') {
      const img = await store.image(ref, platform);
      dockerManifest.push({
        Config: blobName(img.configDescriptor.digest),
        RepoTags: [familiarName(parseReference(name))],
        Layers: img.manifest.layers.map((l) => blobName(l.digest)),
      });
    }
  }
  if ((await stat(file).catch(() => undefined))?.isDirectory())
    throw new InputError(`${file} is a directory; give a file path for the archive`);
  if (!(await stat(dirname(file)).catch(() => undefined))?.isDirectory())
    throw new InputError(`${file}: there is no directory ${dirname(file)} to write the archive in`);
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const forget = removeOnExit(tmp);
  const signal = interruptSignal();
  const pack = tarStream.pack();
  let writeFailure: unknown;
  const writing = pipeline(pack, createWriteStream(tmp, { flags: 'wx' }), { signal }).catch((err) => {
    writeFailure ??= err;
    throw err;
  });
  const base = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 };
  const addBuffer = (name: string, data: string) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ ...base, name }, Buffer.from(data), (err) => (err ? reject(err) : resolve())),
    );
  try {
    await addBuffer('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    for (const [digest, size] of blobs) {
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...base, name: blobName(digest), size }, (err) =>
          err ? reject(err) : resolve(),
        );
        pipeline(createReadStream(store.blobPath(digest), { highWaterMark: 1 << 20 }), sink, {
          signal,
        }).catch(reject);
      });
    }
    await addBuffer(
      'index.json',
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index }),
    );
    if (format === 'docker-archive') await addBuffer('manifest.json', JSON.stringify(dockerManifest));
    pack.finalize();
    await writing;
    await rename(tmp, file).catch((err: unknown) => {
      throw localFileError(file, 'archive', err, true);
    });
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    await rm(tmp, { force: true });
    // A failed write of the archive (no permission, disk full) is what the user must hear about, not
    // the blob copy it cut short.
    throw writeFailure === undefined ? err : localFileError(file, 'archive', writeFailure, true);
  } finally {
    forget();
  }
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

async function nameFor(store: ImageStore, ref: string): Promise<string> {
  const desc = await store.resolve(ref);
  const named = (await store.list()).find((e) => e.name === safeCanonical(ref));
  if (named) return named.name;
  const byDigest = (await store.list()).find((e) => e.descriptor.digest === desc.digest);
  return byDigest?.name ?? canonicalName(ref);
}

function safeCanonical(ref: string): string | undefined {
  try {
    return canonicalName(ref);
  } catch {
    return undefined;
  }
}

async function collectBlobs(store: ImageStore, d: Descriptor, out: Map<string, number>): Promise<void> {
  if (out.has(d.digest)) return;
  if (!(await store.hasBlob(d.digest))) return;
  out.set(d.digest, (await stat(store.blobPath(d.digest))).size);
  const json = await store.readJson<Partial<ImageManifest & ImageIndex>>(d.digest);
  for (const child of json.manifests ?? []) await collectBlobs(store, child, out);
  if (json.config) out.set(json.config.digest, json.config.size);
  for (const l of json.layers ?? []) out.set(l.digest, l.size);
}

/**
 * Loads every image of an archive (either format, gzip-compressed or not) and returns their names. A
 * load that fails (a truncated or corrupt archive, Ctrl-C) takes the blobs it stored out again.
 */
export async function loadImages(store: ImageStore, file: string): Promise<string[]> {
  const created = new Set<string>();
  try {
    return await loadArchive(store, file, created);
  } catch (err) {
    await store.discardBlobs(created).catch((e: unknown) => log.debug(`discard blobs: ${String(e)}`));
    throw err;
  }
}

async function loadArchive(store: ImageStore, file: string, created: Set<string>): Promise<string[]> {
  const st = await stat(file).catch((err: unknown) => {
    throw localFileError(file, 'archive', err);
  });
  if (st.isDirectory()) throw new InputError(`${file} is a directory; give a file path for the archive`);
  if (!st.isFile()) throw new InputError(`${file} is not a regular file; give an archive file`);
  const small = new Map<string, Buffer>();
  const large = new Map<string, { digest: string; size: number }>();
  const tar = await openTar(file, `archive ${file}`);
  const extract = tarStream.extract();
  const reading = pipeline(tar, extract).catch((err: unknown) => extract.destroy(err as Error));
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = h.name.replace(/^\.\//, '');
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      if (m) {
        await store.putBlob(
          entry as AsyncIterable<Uint8Array>,
          { digest: `sha256:${m[1]}`, size: h.size },
          created,
        );
      } else if ((h.size ?? 0) <= smallFileLimit) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        small.set(name, Buffer.concat(chunks));
      } else {
        large.set(name, await store.putBlob(entry as AsyncIterable<Uint8Array>, undefined, created));
      }
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new InputError(`${file}: not a readable image archive: ${(err as Error).message}`);
  } finally {
    await reading;
  }
  const blobOf = async (path: string): Promise<{ digest: string; size: number }> => {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
    if (m) {
      const digest = `sha256:${m[1]}`;
      return { digest, size: (await stat(store.blobPath(digest))).size };
    }
    const known = large.get(path);
    if (known) return known;
    const data = small.get(path);
    if (!data) throw new InputError(`${file}: manifest.json names ${path}, which the archive lacks`);
    return store.putBlob(data, undefined, created);
  };
  const dockerManifest = small.get('manifest.json');
  if (dockerManifest) return loadDocker(store, file, dockerManifest, blobOf, created);
  const index = small.get('index.json');
  if (!index)
    throw new InputError(`${file}: neither index.json nor manifest.json found; not an image archive`);
  return loadOci(store, file, index);
}

async function loadOci(store: ImageStore, file: string, indexBytes: Buffer): Promise<string[]> {
  const index = parseJson<ImageIndex>(indexBytes, file, 'index.json');
  const names: string[] = [];
  for (const d of index.manifests ?? []) {
    const ann = d.annotations ?? {};
    const name =
      ann[containerdName] ?? (/[/:]/.test(ann[refNameAnnotation] ?? '') ? ann[refNameAnnotation] : undefined);
    if (!name) {
      log.warn(
        `${file}: image ${d.digest} has no full name in index.json; tag it with berth tag ${d.digest} NAME`,
      );
      continue;
    }
    if (!(await store.hasBlob(d.digest)))
      throw new InputError(`${file}: index.json names ${d.digest}, which the archive lacks`);
    const { [refNameAnnotation]: _r, [containerdName]: _c, ...rest } = ann;
    const desc: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
    if (Object.keys(rest).length > 0) desc.annotations = rest;
    if (d.platform) desc.platform = d.platform;
    await store.tag(name, desc);
    names.push(canonicalName(name));
  }
  return names;
}

async function loadDocker(
  store: ImageStore,
  file: string,
  bytes: Buffer,
  blobOf: (path: string) => Promise<{ digest: string; size: number }>,
  created: Set<string>,
): Promise<string[]> {
  const entries = parseJson<Array<{ Config: string; RepoTags?: string[]; Layers: string[] }>>(
    bytes,
    file,
    'manifest.json',
  );
  const names: string[] = [];
  for (const e of entries) {
    const config = await blobOf(e.Config);
    const layers: Descriptor[] = [];
    for (const path of e.Layers) {
      const blob = await blobOf(path);
      layers.push({
        mediaType: (await isGzip(store, blob.digest)) ? MediaType.ociLayerGzip : MediaType.ociLayer,
        ...blob,
      });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, ...config },
      layers,
    };
    const m = await store.putBlob(Buffer.from(JSON.stringify(manifest)), undefined, created);
    const desc: Descriptor = { mediaType: MediaType.ociManifest, ...m };
    if (!e.RepoTags?.length)
      log.warn(`${file}: image ${m.digest} has no RepoTags; tag it with berth tag ${m.digest} NAME`);
    for (const tag of e.RepoTags ?? []) {
      await store.tag(tag, desc);
      names.push(canonicalName(tag));
    }
  }
  return names;
}

async function isGzip(store: ImageStore, digest: string): Promise<boolean> {
  const fh = await open(store.blobPath(digest), 'r');
  try {
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

function parseJson<T>(bytes: Buffer, file: string, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new InputError(`${file}: ${what} is not valid JSON`);
  }
}

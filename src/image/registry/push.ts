import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { RegistryError } from '../../util/errors.js';
import { mapLimit } from '../../util/pool.js';
import { startProgress } from '../../util/progress.js';
import { formatReference, parseReference } from '../reference.js';
import { ImageStore } from '../store.js';
import { type Descriptor, type ImageIndex, type ImageManifest, isIndexMediaType } from '../types.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { mountCandidates, recordLocations } from './locations.js';
import { defaultBlobParallel } from './pull.js';
import { manifestBlobs } from './tree.js';

export interface PushOptions extends RegistryOptions {
  maxParallel?: number;
  store?: ImageStore;
}

export interface PushResult {
  /** Canonical destination name. */
  name: string;
  digest: string;
  /** Bytes sent; blobs the registry already had or could mount are not sent. */
  uploaded: number;
}

interface Outcome {
  sent: number;
}

/**
 * Pushes a stored image: blobs first (HEAD, then a mount from a repository known to hold the blob, then
 * an upload), child manifests by digest, then the manifest or index under the tag, byte for byte.
 */
export async function pushImage(
  source: string,
  destination?: string,
  opts: PushOptions = {},
): Promise<PushResult> {
  const store = opts.store ?? new ImageStore();
  const top = await store.resolve(source);
  const dest = parseReference(destination ?? source);
  const src = parseReference(source);
  const client = new RegistryClient(dest.registry, opts);
  const repo = dest.repository;

  const topBytes = await store.readBlob(top.digest);
  const topJson = JSON.parse(topBytes.toString('utf8')) as Partial<ImageIndex & ImageManifest>;
  const children: Array<{ descriptor: Descriptor; bytes: Buffer }> = [];
  const manifests: ImageManifest[] = [];
  if (isIndexMediaType(top.mediaType) || (Array.isArray(topJson.manifests) && !topJson.config)) {
    for (const d of topJson.manifests ?? []) {
      if (!(await store.hasBlob(d.digest)))
        throw new RegistryError(
          `${source}: child manifest ${d.digest} is not stored locally; pull it with --all-platforms before pushing the index`,
        );
      const bytes = await store.readBlob(d.digest);
      children.push({ descriptor: d, bytes });
      manifests.push(JSON.parse(bytes.toString('utf8')) as ImageManifest);
    }
  } else {
    manifests.push(topJson as ImageManifest);
  }
  const blobs = new Map<string, Descriptor>();
  for (const m of manifests) for (const b of manifestBlobs(m)) blobs.set(b.digest, b);
  for (const b of blobs.values()) {
    if (!(await store.hasBlob(b.digest)))
      throw new RegistryError(
        `${source}: blob ${b.digest} is missing from the local store; pull the image again`,
      );
  }

  const name = formatReference(dest);
  const total = [...blobs.values()].reduce((n, b) => n + b.size, 0);
  const progress = startProgress(`push ${name}`, total, 'bytes');
  let done = 0;
  const count = (n: number) => {
    done += n;
    progress.update(done);
  };
  let uploaded = 0;
  try {
    const outcomes = await mapLimit(
      [...blobs.values()],
      opts.maxParallel ?? defaultBlobParallel,
      async (b) => {
        const r = await pushBlob(
          client,
          repo,
          b,
          store,
          src.registry === dest.registry ? src.repository : undefined,
          count,
        );
        return r;
      },
    );
    uploaded = outcomes.reduce((n, o) => n + o.sent, 0);
  } catch (err) {
    progress.fail();
    throw err;
  }
  progress.stop();
  for (const c of children)
    await client.putManifest(repo, c.descriptor.digest, c.bytes, c.descriptor.mediaType);
  await client.putManifest(repo, dest.digest ?? dest.tag ?? top.digest, topBytes, top.mediaType);
  await recordLocations(dest.registry, repo, [...blobs.keys()]);
  return { name, digest: top.digest, uploaded };
}

async function pushBlob(
  client: RegistryClient,
  repo: string,
  b: Descriptor,
  store: ImageStore,
  sourceRepo: string | undefined,
  count: (n: number) => void,
): Promise<Outcome> {
  if (await client.hasBlob(repo, b.digest, true)) {
    count(b.size);
    return { sent: 0 };
  }
  const candidates = await mountCandidates(client.registry, b.digest, repo);
  if (sourceRepo && sourceRepo !== repo && !candidates.includes(sourceRepo)) candidates.unshift(sourceRepo);
  let session: string | undefined;
  for (const from of candidates.slice(0, 3)) {
    const mounted = await client.mountBlob(repo, b.digest, from);
    if (mounted === true) {
      count(b.size);
      return { sent: 0 };
    }
    // A refused mount opens an ordinary upload session; use it rather than opening another.
    if (typeof mounted === 'string') {
      session = mounted;
      break;
    }
  }
  const path = store.blobPath(b.digest);
  let sentThisTry = 0;
  await client.uploadBlob(
    repo,
    b.digest,
    b.size,
    () => {
      count(-sentThisTry);
      sentThisTry = 0;
      return createReadStream(path).pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sentThisTry += chunk.length;
            count(chunk.length);
            cb(null, chunk);
          },
        }),
      );
    },
    session,
  );
  return { sent: b.size };
}

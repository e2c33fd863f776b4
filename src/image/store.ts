import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic.js';
import { NotFoundError, RegistryError, UsageError } from '../util/errors.js';
import { interruptSignal, removeOnExit } from '../util/interrupt.js';
import { exists } from '../util/local-files.js';
import { berthPath } from '../util/paths.js';
import { formatReference, parseReference } from './reference.js';
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type Platform,
  platformMatches,
} from './types.js';

// The local store is one OCI image layout shared by every image: blobs are content-addressed and so
// stored once; only index.json (the names) changes, always under a lock and by temp + rename.
// Two berth processes may use it at once. Blob writes need no lock (same digest = same bytes, rename is
// atomic). gc takes the index lock and spares blobs that a live process has written or looked at
// ("leases", one file per process listing digests), so a pull that has stored blobs but not yet tagged
// them keeps them. A blob write stops when the process is interrupted (Ctrl-C), and its partial ingest
// file goes with it.

export const refNameAnnotation = 'org.opencontainers.image.ref.name';
const digestPattern = /^sha256:[a-f0-9]{64}$/;

export interface StoredImage {
  name: string;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  configDescriptor: Descriptor;
  config: ImageConfig;
}

export { sha256Digest } from '../util/local-files.js';

/** Canonical name of a reference as the store keys it (`docker.io/library/x:latest`). */
export function canonicalName(ref: string): string {
  return formatReference(parseReference(ref));
}

export class ImageStore {
  readonly root: string;
  private initialized: Promise<void> | undefined;
  private leasePath: string | undefined;

  constructor(
    root?: string,
    /** Stops blob writes; the process's Ctrl-C signal by default. */
    private readonly signal: AbortSignal = interruptSignal(),
    /** The clock gc measures its grace period for fresh blobs on (tests move it on instead of waiting). */
    private readonly now: () => number = Date.now,
  ) {
    this.root = root ?? berthPath('images');
  }

  blobPath(digest: string): string {
    if (!digestPattern.test(digest))
      throw new RegistryError(`invalid digest "${digest}": want sha256:<64 hex>`);
    return join(this.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
    } catch {
      return false;
    }
    await this.lease(digest);
    return true;
  }

  async putBlob(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    expected?: { digest: string; size?: number },
    /** Collects the digest when the blob was not stored before (so that a failed build can discard it). */
    created?: Set<string>,
  ): Promise<{ digest: string; size: number }> {
    await this.init();
    if (expected) this.blobPath(expected.digest);
    const tmp = join(this.root, 'ingest', `${process.pid}-${randomBytes(8).toString('hex')}`);
    const forget = removeOnExit(tmp);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const source: AsyncIterable<Uint8Array> = data instanceof Uint8Array ? Readable.from([data]) : data;
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
        { signal: this.signal },
      );
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected && expected.digest !== digest) {
        throw new RegistryError(
          `blob ${expected.digest}: content has digest ${digest}; the source is corrupt`,
        );
      }
      if (expected?.size !== undefined && expected.size !== size) {
        throw new RegistryError(`blob ${digest}: expected ${expected.size} bytes, got ${size}`);
      }
      await this.lease(digest);
      if (created && !(await exists(this.blobPath(digest)))) created.add(digest);
      // Renaming over an existing copy (same bytes) also refreshes its ctime, which a concurrent gc
      // reads as "in use".
      await rename(tmp, this.blobPath(digest));
      return { digest, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      forget();
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`blob ${digest} is not in the local store ${this.root}`);
      }
      throw err;
    }
  }

  async readJson<T>(digest: string): Promise<T> {
    const buf = await this.readBlob(digest);
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch {
      throw new RegistryError(`blob ${digest} is not valid JSON`);
    }
  }

  async resolve(ref: string): Promise<Descriptor> {
    return (await this.lookup(ref)).descriptor;
  }

  async tag(ref: string, desc: Descriptor): Promise<void> {
    const name = canonicalName(ref);
    await this.withIndex((index) => {
      const entry: Descriptor = {
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        annotations: { ...desc.annotations, [refNameAnnotation]: name },
      };
      if (desc.platform) entry.platform = desc.platform;
      index.manifests = index.manifests.filter((d) => d.annotations?.[refNameAnnotation] !== name);
      index.manifests.push(entry);
      index.manifests.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
      return true;
    });
  }

  async untag(ref: string): Promise<void> {
    const name = canonicalName(ref);
    let found = false;
    await this.withIndex((index) => {
      const before = index.manifests.length;
      index.manifests = index.manifests.filter((d) => nameOf(d) !== name);
      found = index.manifests.length !== before;
      return found;
    });
    if (!found) throw new NotFoundError(`image ${ref} is not in the local store (see berth images)`);
  }

  async list(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    const index = await this.readIndex();
    return index.manifests
      .filter((d) => nameOf(d))
      .map((d) => ({ name: nameOf(d), descriptor: stripName(d) }));
  }

  async image(ref: string, platform: Platform = hostPlatform()): Promise<StoredImage> {
    const { name, descriptor } = await this.lookup(ref);
    let manifestDescriptor = descriptor;
    let top = await this.readJson<ImageManifest | ImageIndex>(descriptor.digest);
    if (isIndexMediaType(descriptor.mediaType) || isIndexMediaType(top.mediaType) || 'manifests' in top) {
      const children = (top as ImageIndex).manifests;
      const child = children.find((c) => platformMatches(platform, c.platform));
      if (!child) {
        const have = children.map((c) => (c.platform ? formatPlatform(c.platform) : '?')).join(', ');
        throw new NotFoundError(
          `image ${ref} has no ${formatPlatform(platform)} variant (it has: ${have}); pass another --platform`,
        );
      }
      if (!(await this.hasBlob(child.digest))) {
        throw new NotFoundError(
          `image ${ref}: the ${formatPlatform(platform)} variant is not stored locally; run berth pull --platform ${formatPlatform(platform)} ${ref} first`,
        );
      }
      manifestDescriptor = child;
      top = await this.readJson<ImageManifest>(child.digest);
    }
    const manifest = top as ImageManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw new RegistryError(`image ${ref}: manifest ${manifestDescriptor.digest} has no config or layers`);
    }
    const config = await this.readJson<ImageConfig>(manifest.config.digest);
    return { name, manifestDescriptor, manifest, configDescriptor: manifest.config, config };
  }

  async gc(): Promise<{ blobs: number; bytes: number }> {
    await this.init();
    const release = await this.lock();
    try {
      const started = this.now();
      const keep = new Set<string>();
      const index = await this.readIndex();
      for (const d of index.manifests) await this.mark(d, keep);
      for (const d of await this.liveLeases()) keep.add(d);
      let blobs = 0;
      let bytes = 0;
      const dir = join(this.root, 'blobs', 'sha256');
      for (const hex of await readdir(dir)) {
        const digest = `sha256:${hex}`;
        if (keep.has(digest)) continue;
        const path = join(dir, hex);
        const st = await lstat(path).catch(() => undefined);
        // rename() sets ctime: a blob put in place after gc started belongs to a writer whose lease we
        // may have missed.
        if (!st || st.ctimeMs >= started - 1000) continue;
        await rm(path, { force: true });
        blobs++;
        bytes += st.size;
      }
      bytes += await this.removeStaleIngest();
      return { blobs, bytes };
    } finally {
      await release();
    }
  }

  /**
   * Removes blobs that a failed operation of this process created, unless an image name or another live
   * process now relies on them: a failed build leaves the store as it found it.
   */
  async discardBlobs(digests: Iterable<string>): Promise<void> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return;
    await this.init();
    const release = await this.lock();
    try {
      const keep = new Set<string>();
      for (const d of (await this.readIndex()).manifests) await this.mark(d, keep);
      for (const d of await this.liveLeases(this.leasePath)) keep.add(d);
      for (const d of wanted) if (!keep.has(d)) await rm(this.blobPath(d), { force: true });
    } finally {
      await release();
    }
  }

  /** Finds a name, or an image id (config or manifest digest, or a prefix of its hex). */
  private async lookup(ref: string): Promise<{ name: string; descriptor: Descriptor }> {
    const entries = await this.list();
    const idLike = /^(sha256:)?[a-f0-9]{4,64}$/.test(ref);
    if (idLike) {
      const hit = await this.findById(entries, ref.replace(/^sha256:/, ''));
      if (hit) return hit;
    }
    let name: string;
    try {
      name = canonicalName(ref);
    } catch (err) {
      if (idLike) throw new NotFoundError(`image ${ref} is not in the local store (see berth images)`);
      throw err;
    }
    const entry = entries.find((e) => e.name === name);
    if (entry) return entry;
    const parsed = parseReference(ref);
    if (parsed.digest && (await this.hasBlob(parsed.digest))) {
      const json = await this.readJson<{ mediaType?: string; manifests?: unknown }>(parsed.digest);
      const size = (await stat(this.blobPath(parsed.digest))).size;
      const mediaType =
        json.mediaType ??
        (json.manifests
          ? 'application/vnd.oci.image.index.v1+json'
          : 'application/vnd.oci.image.manifest.v1+json');
      return { name, descriptor: { mediaType, digest: parsed.digest, size } };
    }
    throw new NotFoundError(`image ${ref} is not in the local store; run berth pull ${ref} first`);
  }

  private async findById(
    entries: Array<{ name: string; descriptor: Descriptor }>,
    hexPrefix: string,
  ): Promise<{ name: string; descriptor: Descriptor } | undefined> {
    const matches = new Map<string, { name: string; descriptor: Descriptor }>();
    for (const e of entries) {
      const ids = [e.descriptor.digest];
      const m = await this.readJson<ImageManifest | ImageIndex>(e.descriptor.digest).catch(() => undefined);
      if (m && 'config' in m && m.config) ids.push(m.config.digest);
      if (ids.some((id) => id.slice('sha256:'.length).startsWith(hexPrefix))) {
        if (!matches.has(e.descriptor.digest)) matches.set(e.descriptor.digest, e);
      }
    }
    if (matches.size > 1) {
      throw new UsageError(
        `image id ${hexPrefix} is ambiguous: it matches ${matches.size} images; give more digits`,
      );
    }
    return [...matches.values()][0];
  }

  private async mark(d: Descriptor, keep: Set<string>): Promise<void> {
    if (keep.has(d.digest)) return;
    keep.add(d.digest);
    if (!(await exists(this.blobPath(d.digest)))) return;
    if (
      isIndexMediaType(d.mediaType) ||
      d.mediaType.endsWith('manifest.v1+json') ||
      d.mediaType.endsWith('manifest.v2+json')
    ) {
      const json = await this.readJson<Partial<ImageManifest & ImageIndex>>(d.digest).catch(() => undefined);
      if (!json) return;
      for (const c of json.manifests ?? []) await this.mark(c, keep);
      if (json.config) keep.add(json.config.digest);
      for (const l of json.layers ?? []) keep.add(l.digest);
    }
  }

  private init(): Promise<void> {
    this.initialized ??= (async () => {
      await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
      await mkdir(join(this.root, 'ingest'), { recursive: true });
      await mkdir(join(this.root, 'leases'), { recursive: true });
      const layout = join(this.root, 'oci-layout');
      if (!(await exists(layout))) await writeFileAtomic(layout, '{"imageLayoutVersion":"1.0.0"}');
      const indexPath = join(this.root, 'index.json');
      if (!(await exists(indexPath))) {
        // link() fails when the file exists, so two processes creating the store never clobber a tag.
        const tmp = join(this.root, 'ingest', `index-${process.pid}-${randomBytes(6).toString('hex')}`);
        await writeFile(tmp, emptyIndex());
        await link(tmp, indexPath).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        await rm(tmp, { force: true });
      }
    })();
    return this.initialized;
  }

  private async lock(): Promise<() => Promise<void>> {
    try {
      return await lockfile.lock(join(this.root, 'index.json'), {
        realpath: false,
        stale: 20000,
        retries: { retries: 200, minTimeout: 20, maxTimeout: 500, factor: 1.5 },
      });
    } catch (err) {
      throw new RegistryError(
        `the image store ${this.root} is locked by another berth process; try again when it has finished`,
        { cause: err },
      );
    }
  }

  private async readIndex(): Promise<ImageIndex> {
    await this.init();
    const text = await readFile(join(this.root, 'index.json'), 'utf8');
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) index.manifests = [];
      return index;
    } catch {
      throw new RegistryError(
        `${join(this.root, 'index.json')} is not valid JSON; restore it or remove the store`,
      );
    }
  }

  private async withIndex(change: (index: ImageIndex) => boolean): Promise<void> {
    await this.init();
    const release = await this.lock();
    try {
      const index = await this.readIndex();
      if (change(index))
        await writeFileAtomic(join(this.root, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    } finally {
      await release();
    }
  }

  /** Records that this process relies on `digest`, so a concurrent gc leaves it alone. */
  private async lease(digest: string): Promise<void> {
    await this.init();
    if (!this.leasePath) {
      const path = join(this.root, 'leases', `${process.pid}-${randomBytes(4).toString('hex')}`);
      this.leasePath = path;
      removeOnExit(path);
    }
    appendFileSync(this.leasePath, `${digest}\n`);
  }

  private async liveLeases(except?: string): Promise<Set<string>> {
    const out = new Set<string>();
    const dir = join(this.root, 'leases');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      const path = join(dir, name);
      if (path === except) continue;
      if (!isAlive(pid)) {
        await rm(path, { force: true });
        continue;
      }
      const text = await readFile(path, 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line) out.add(line);
    }
    return out;
  }

  /** Removes the half-written files of dead processes; returns their bytes. */
  private async removeStaleIngest(): Promise<number> {
    const dir = join(this.root, 'ingest');
    let bytes = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(name.replace(/^index-/, '').split('-')[0]);
      if (isAlive(pid)) continue;
      const path = join(dir, name);
      bytes += (await lstat(path).catch(() => undefined))?.size ?? 0;
      await rm(path, { force: true });
    }
    return bytes;
  }
}

function nameOf(d: Descriptor): string {
  return d.annotations?.[refNameAnnotation] ?? '';
}

function stripName(d: Descriptor): Descriptor {
  const { [refNameAnnotation]: _name, ...rest } = d.annotations ?? {};
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (Object.keys(rest).length > 0) out.annotations = rest;
  if (d.platform) out.platform = d.platform;
  return out;
}

function emptyIndex(): string {
  return `${JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }, null, 2)}\n`;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

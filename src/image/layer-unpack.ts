import { createReadStream, createWriteStream } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rm,
  symlink,
  utimes,
} from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import tarStream from 'tar-stream';
import { errorMessage, RegistryError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { ImageStore } from './store.js';
import type { Descriptor } from './types.js';

type TarEntry = tarStream.Extract extends AsyncIterable<infer S> ? S : never;

// Applies image layers to a directory the way a container runtime does (whiteouts, opaque directories,
// later layers win), treating every archive as hostile: no entry may land, link or write outside the
// root, nothing is written through a symlink, and total size and entry count are bounded.

export interface UnpackLimits {
  /** Total uncompressed file bytes over all layers; default 256 GiB. */
  maxBytes?: number;
  /** Total entries over all layers; default 5 million. */
  maxEntries?: number;
}

interface Budget {
  bytes: number;
  entries: number;
  maxBytes: number;
  maxEntries: number;
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';
const isRoot = process.getuid?.() === 0;

export function newBudget(limits: UnpackLimits = {}): Budget {
  return {
    bytes: 0,
    entries: 0,
    maxBytes: limits.maxBytes ?? 256 * 2 ** 30,
    maxEntries: limits.maxEntries ?? 5_000_000,
  };
}

/** Applies the layers of a stored image, in order, onto `root` (created when missing). */
export async function unpackLayers(
  store: ImageStore,
  layers: Descriptor[],
  root: string,
  limits?: UnpackLimits,
): Promise<void> {
  await mkdir(root, { recursive: true });
  const budget = newBudget(limits);
  for (const layer of layers) {
    await unpackLayer(await openLayer(store, layer), root, layer.digest, budget);
  }
}

/** The uncompressed tar stream of a stored layer. */
export async function openLayer(store: ImageStore, layer: Descriptor): Promise<Readable> {
  return openTar(store.blobPath(layer.digest), `layer ${layer.digest}`);
}

/** A tar file's uncompressed stream, gzip or zstd detected by its magic bytes. */
export async function openTar(path: string, what: string): Promise<Readable> {
  const head = Buffer.alloc(4);
  const fh = await open(path, 'r').catch(() => {
    throw new RegistryError(`${what}: ${path} is missing`);
  });
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    gunzip.once('close', () => raw.destroy());
    raw.once('error', (err) => gunzip.destroy(err));
    return raw.pipe(gunzip);
  }
  if (head.readUInt32LE(0) === 0xfd2fb528) {
    const unzstd = zstdDecompressor();
    unzstd.once('close', () => raw.destroy());
    raw.once('error', (err) => unzstd.destroy(err));
    return raw.pipe(unzstd);
  }
  return raw;
}

/** A streaming zstd decoder (pure JavaScript: no native add-on); reads concatenated frames as one stream. */
function zstdDecompressor(): Transform {
  const decoder = new ZstdDecompress();
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        decoder.push(chunk);
        done();
      } catch (err) {
        done(new RegistryError(`zstd layer is corrupt: ${(err as Error).message}`));
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(new RegistryError(`zstd layer is corrupt or cut short: ${(err as Error).message}`));
      }
    },
  });
  decoder.ondata = (data) => {
    t.push(Buffer.from(data));
  };
  return t;
}

/** Applies one uncompressed layer tar onto `root`. */
export async function unpackLayer(
  tar: Readable,
  root: string,
  layerDigest: string,
  budget: Budget = newBudget(),
): Promise<void> {
  const applier = new LayerApplier(root, layerDigest, budget);
  const extract = tarStream.extract();
  const reading = pipeline(tar, extract).catch((err: unknown) => {
    extract.destroy(err as Error);
  });
  try {
    for await (const entry of extract) {
      await applier.apply(entry);
    }
    await applier.finish();
  } catch (err) {
    tar.destroy();
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(`layer ${layerDigest}: cannot unpack: ${errorMessage(err)}`, { cause: err });
  } finally {
    await reading;
  }
}

class LayerApplier {
  private readonly checkedDirs = new Set<string>();
  private readonly written = new Set<string>();
  private readonly dirTimes: Array<{ path: string; mode: number; mtime: Date }> = [];

  constructor(
    private readonly root: string,
    private readonly digest: string,
    private readonly budget: Budget,
  ) {}

  private refuse(name: string, why: string): RegistryError {
    return new RegistryError(`layer ${this.digest}: entry "${name}" ${why}; refusing to unpack this image`);
  }

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const rel = this.safePath(h.name, h.name);
    this.budget.entries++;
    this.budget.bytes += h.size ?? 0;
    if (this.budget.entries > this.budget.maxEntries) {
      throw this.refuse(h.name, `exceeds the limit of ${this.budget.maxEntries} entries`);
    }
    if (this.budget.bytes > this.budget.maxBytes) {
      throw this.refuse(h.name, `exceeds the limit of ${this.budget.maxBytes} bytes in total`);
    }
    if (rel === '') {
      entry.resume();
      return;
    }
    const parent = posix.dirname(rel);
    const base = posix.basename(rel);
    await this.ensureParents(h.name, parent === '.' ? '' : parent);
    const abs = join(this.root, rel);
    if (base === opaqueMarker) {
      await this.clearDir(parent === '.' ? '' : parent);
      entry.resume();
      return;
    }
    if (base.startsWith(whiteoutPrefix)) {
      const hidden = base.slice(whiteoutPrefix.length);
      // `.wh..` or `.wh...` would name the directory itself or its parent: removing it could reach
      // outside the root.
      if (hidden === '' || hidden === '.' || hidden === '..')
        throw this.refuse(h.name ?? base, 'is a whiteout of no file (it names its own directory or parent)');
      const target = posix.join(parent, hidden);
      if (!this.written.has(target)) {
        await rm(join(this.root, target), { recursive: true, force: true });
        this.checkedDirs.clear();
      }
      entry.resume();
      return;
    }
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date(0);
    switch (h.type) {
      case 'directory': {
        const st = await lstat(abs).catch(() => undefined);
        if (st && !st.isDirectory()) await this.remove(abs);
        if (!st?.isDirectory()) await mkdir(abs, { mode: 0o755 });
        this.dirTimes.push({ path: abs, mode, mtime });
        this.checkedDirs.add(rel);
        entry.resume();
        break;
      }
      case 'file':
      case 'contiguous-file': {
        await this.remove(abs);
        await pipeline(entry, createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
        // chown clears set-id bits, so ownership goes first.
        await this.own(abs, h);
        await chmod(abs, mode);
        await utimes(abs, mtime, mtime);
        break;
      }
      case 'symlink': {
        const target = h.linkname ?? '';
        // Absolute targets mean "inside the image root" to a runtime; relative ones must stay inside.
        if (!target.startsWith('/')) {
          const resolved = posix.normalize(posix.join(parent, target));
          if (resolved === '..' || resolved.startsWith('../'))
            throw this.refuse(h.name, `is a symlink leading out of the root (${target})`);
        }
        await this.remove(abs);
        await symlink(target, abs);
        await this.own(abs, h);
        await lutimes(abs, mtime, mtime).catch(() => undefined);
        entry.resume();
        break;
      }
      case 'link': {
        const targetRel = this.safePath(h.name, h.linkname ?? '', 'is a hard link leading out of the root');
        const targetParent = posix.dirname(targetRel);
        await this.ensureParents(h.name, targetParent === '.' ? '' : targetParent, false);
        const targetAbs = join(this.root, targetRel);
        const st = await lstat(targetAbs).catch(() => undefined);
        if (!st || st.isDirectory())
          throw this.refuse(h.name, `is a hard link to a missing file (${h.linkname})`);
        if (targetAbs !== abs) {
          await this.remove(abs);
          await link(targetAbs, abs);
        }
        entry.resume();
        break;
      }
      default:
        log.debug(`layer ${this.digest}: ${h.name}: ${h.type} entries are not unpacked`);
        entry.resume();
        return;
    }
    this.written.add(rel);
  }

  async finish(): Promise<void> {
    // Directory modes and times last: children written earlier changed their mtimes, and a read-only
    // mode set early would have blocked writing them.
    for (const d of this.dirTimes.reverse()) {
      await chmod(d.path, d.mode);
      await utimes(d.path, d.mtime, d.mtime);
    }
  }

  /** Normalises a tar path to a root-relative one, refusing absolute paths and `..`. */
  private safePath(entryName: string, name: string, why = 'leaves the root'): string {
    if (name.startsWith('/')) throw this.refuse(entryName, `has an absolute path (${name}) and ${why}`);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.refuse(entryName, `contains ".." (${name}) and ${why}`);
    return parts.join('/');
  }

  /**
   * Makes sure every directory on the way to `dir` is a real directory inside the root (creating missing
   * ones when `create`); a symlink on the way is refused, since writing through it could land anywhere.
   */
  private async ensureParents(entryName: string, dir: string, create = true): Promise<void> {
    if (dir === '' || this.checkedDirs.has(dir)) return;
    let cur = '';
    for (const part of dir.split('/')) {
      cur = cur ? `${cur}/${part}` : part;
      if (this.checkedDirs.has(cur)) continue;
      const abs = join(this.root, cur);
      const st = await lstat(abs).catch(() => undefined);
      if (st?.isSymbolicLink()) throw this.refuse(entryName, `would be written through the symlink ${cur}`);
      if (st && !st.isDirectory()) {
        if (!create) throw this.refuse(entryName, `refers to ${cur}, which is not a directory`);
        await rm(abs, { force: true });
      }
      if (!st?.isDirectory()) {
        if (!create) throw this.refuse(entryName, `refers to a missing directory ${cur}`);
        await mkdir(abs, { mode: 0o755 });
      }
      this.checkedDirs.add(cur);
    }
  }

  private async clearDir(dir: string): Promise<void> {
    const abs = join(this.root, dir);
    for (const name of await readdir(abs).catch(() => [] as string[])) {
      const rel = dir ? `${dir}/${name}` : name;
      if (!this.written.has(rel)) await rm(join(abs, name), { recursive: true, force: true });
    }
    this.checkedDirs.clear();
  }

  private async remove(abs: string): Promise<void> {
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    await rm(abs, { recursive: st.isDirectory(), force: true });
    if (st.isDirectory()) this.checkedDirs.clear();
  }

  private async own(abs: string, h: tarStream.Header): Promise<void> {
    if (isRoot) await lchown(abs, h.uid ?? 0, h.gid ?? 0);
  }
}

import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { InputError } from '../util/errors.js';
import { log } from '../util/log.js';
import { parallelGzip, parallelZstd } from './parallel-compress.js';
import type { ImageStore } from './store.js';
import { type Descriptor, MediaType } from './types.js';

// Layers berth writes are reproducible: the same files give the same bytes, hence the same digest.
// Entries are sorted by path, owned by 0:0 (unless COPY --chown) with empty user/group names and a fixed
// mtime; compression, the bottleneck, runs on every core (parallel-compress.ts).

export interface LayerEntry {
  /** Path inside the layer, relative, `/`-separated, no trailing slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'link';
  mode: number;
  /** Host file to read a regular file's content from (for a symlink: where the link was found). */
  source?: string;
  size?: number;
  /** Symlink target, or for a hard link the layer path of the first copy. */
  linkname?: string;
  /** Owner in the layer; 0 unless COPY --chown said otherwise. */
  uid?: number;
  gid?: number;
}

export interface LayerWriteOptions {
  /** gzip level 1-9; default 1 (fast: compression is the slow part of a build). */
  level?: number;
  /** Seconds since the epoch for every entry; default SOURCE_DATE_EPOCH, else 0. */
  mtime?: number;
  /** gzip (the default, read by every runtime) or zstd (OCI's tar+zstd; containerd reads it). */
  compression?: LayerCompression;
  /** Collects the digest of a blob this call stored for the first time. */
  created?: Set<string>;
}

export type LayerCompression = 'gzip' | 'zstd';

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: string;
  /** Size of the uncompressed tar. */
  tarSize: number;
}

export function reproducibleMtime(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  const n = env ? Number.parseInt(env, 10) : 0;
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/**
 * Lists `dir` as layer entries below `prefix` (a layer path, '' for the root), hard links recorded as
 * links to their first path. `include` sees paths relative to `dir` and may drop them.
 */
export async function collectTree(
  dir: string,
  prefix: string,
  include: (relPath: string, isDir: boolean) => boolean = () => true,
): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(childAbs);
      if (!include(childRel, st.isDirectory())) continue;
      const path = prefix ? `${prefix}/${childRel}` : childRel;
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push({ path, type: 'dir', mode });
        await walk(childAbs, childRel);
      } else if (st.isSymbolicLink()) {
        out.push({ path, type: 'symlink', mode, linkname: await readlink(childAbs), source: childAbs });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first) out.push({ path, type: 'link', mode, linkname: first });
        else {
          if (st.nlink > 1) inodes.set(key, path);
          out.push({ path, type: 'file', mode, source: childAbs, size: st.size });
        }
      } else {
        log.warn(`${childAbs}: sockets, devices and fifos are not put into layers; skipped`);
      }
    }
  };
  await walk(dir, '');
  return out;
}

/** One host file, symlink or directory (not its contents) as the layer entry `path`. */
export async function pathEntry(abs: string, path: string): Promise<LayerEntry> {
  const st = await lstat(abs);
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) return { path, type: 'dir', mode };
  if (st.isSymbolicLink()) return { path, type: 'symlink', mode, linkname: await readlink(abs) };
  return { path, type: 'file', mode, source: abs, size: st.size };
}

/** Adds the parent directories of every entry that has none, so that extracting never guesses modes. */
export function withParents(entries: LayerEntry[]): LayerEntry[] {
  const have = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path));
  const out = [...entries];
  for (const e of entries) {
    let dir = posix.dirname(e.path);
    while (dir !== '.' && dir !== '/' && !have.has(dir)) {
      have.add(dir);
      out.push({ path: dir, type: 'dir', mode: 0o755 });
      dir = posix.dirname(dir);
    }
  }
  return out;
}

/** Writes entries (sorted here) as one compressed layer into the store, streaming. */
export async function writeLayer(
  store: ImageStore,
  entries: LayerEntry[],
  options: LayerWriteOptions = {},
): Promise<WrittenLayer> {
  const sorted = dedupe(entries).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const mtime = new Date((options.mtime ?? reproducibleMtime()) * 1000);
  const pack = tarStream.pack();
  const filling = fillPack(pack, sorted, mtime).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  const diff = createHash('sha256');
  let tarSize = 0;
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      diff.update(chunk);
      tarSize += chunk.length;
      yield chunk;
    }
  }
  const zstd = options.compression === 'zstd';
  const compressed = zstd
    ? parallelZstd(tapped(), options.level ?? 3)
    : parallelGzip(tapped(), options.level ?? 1);
  const blob = await store.putBlob(compressed, undefined, options.created);
  await filling;
  return {
    descriptor: {
      mediaType: zstd ? MediaType.ociLayerZstd : MediaType.ociLayerGzip,
      digest: blob.digest,
      size: blob.size,
    },
    diffId: `sha256:${diff.digest('hex')}`,
    tarSize,
  };
}

/** Later entries for the same path replace earlier ones (a COPY of two sources into one place). */
function dedupe(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()];
}

/** Files up to this size are read whole instead of streamed. */
const smallFile = 256 << 10;

async function fillPack(pack: tarStream.Pack, entries: LayerEntry[], mtime: Date): Promise<void> {
  const base = { mtime, uname: '', gname: '' };
  for (const e of entries) {
    const owner = { uid: e.uid ?? 0, gid: e.gid ?? 0 };
    // Small files dominate a cluster image by count. Read at once they cost a few microseconds each;
    // read through the libuv pool they would wait, four calls each, behind the pieces being compressed.
    const small = e.type === 'file' && !!e.source && (e.size ?? 0) > 0 && (e.size ?? 0) <= smallFile;
    const whole = small ? readFileSync(e.source as string) : undefined;
    if (whole) {
      const data = whole;
      if (data.length !== e.size)
        throw new InputError(
          `${e.source}: changed size while being packed (${e.size} -> ${data.length} bytes); build again`,
        );
      await new Promise<void>((resolve, reject) => {
        const header = {
          ...base,
          ...owner,
          name: e.path,
          mode: e.mode,
          size: data.length,
          type: 'file' as const,
        };
        pack.entry(header, data, (err) => (err ? reject(err) : resolve()));
      });
    } else if (e.type === 'file') {
      const size = e.size ?? 0;
      await new Promise<void>((resolve, reject) => {
        const header = { ...base, ...owner, name: e.path, mode: e.mode, size, type: 'file' as const };
        const done = (err?: Error | null) => (err ? reject(err) : resolve());
        if (size === 0 || !e.source) pack.entry(header, Buffer.alloc(0), done);
        else {
          const sink = pack.entry(header, done);
          pipeline(createReadStream(e.source, { highWaterMark: 1 << 20 }), sink).catch(reject);
        }
      });
    } else {
      const type = e.type === 'dir' ? 'directory' : e.type;
      await new Promise<void>((resolve, reject) => {
        pack.entry(
          {
            ...base,
            ...owner,
            name: e.type === 'dir' ? `${e.path}/` : e.path,
            mode: e.mode,
            type,
            linkname: e.linkname,
            size: 0,
          },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    }
  }
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { log } from '../util/log.js';
import type { ImageStore } from './store.js';
import { type Descriptor, MediaType } from './types.js';

// Layers berth writes are reproducible: the same files give the same bytes, hence the same digest.
// Entries are sorted by path, owned by 0:0 with empty user/group names and a fixed mtime; the gzip stream
// is cut into independent members compressed in parallel on the libuv pool (a multi-member gzip file is
// plain gzip to every reader), so that compression, the bottleneck, uses every core.

export interface LayerEntry {
  /** Path inside the layer, relative, `/`-separated, no trailing slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'link';
  mode: number;
  /** Host file to read a regular file's content from. */
  source?: string;
  size?: number;
  /** Symlink target, or for a hard link the layer path of the first copy. */
  linkname?: string;
}

export interface LayerWriteOptions {
  /** gzip level 1-9; default 1 (fast: compression is the slow part of a build). */
  level?: number;
  /** Seconds since the epoch for every entry; default SOURCE_DATE_EPOCH, else 0. */
  mtime?: number;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: string;
  /** Size of the uncompressed tar. */
  tarSize: number;
}

const chunkSize = 4 << 20;
const gzipAsync = promisify(gzip);

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
        out.push({ path, type: 'symlink', mode, linkname: await readlink(childAbs) });
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

/** Writes entries (sorted here) as one gzip layer into the store, streaming. */
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
  const blob = await store.putBlob(parallelGzip(tapped(), options.level ?? 1));
  await filling;
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size },
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

async function fillPack(pack: tarStream.Pack, entries: LayerEntry[], mtime: Date): Promise<void> {
  const base = { mtime, uid: 0, gid: 0, uname: '', gname: '' };
  for (const e of entries) {
    if (e.type === 'file') {
      const size = e.size ?? 0;
      await new Promise<void>((resolve, reject) => {
        const header = { ...base, name: e.path, mode: e.mode, size, type: 'file' as const };
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

/**
 * gzip in independent members of `chunkSize` input bytes, up to `concurrency` compressed at once; output
 * order is input order, so the result is deterministic.
 */
export async function* parallelGzip(
  source: AsyncIterable<Uint8Array>,
  level: number,
  concurrency = 4,
): AsyncGenerator<Buffer> {
  const pending: Array<Promise<Buffer>> = [];
  // Members are cut at exact multiples of chunkSize whatever sizes the chunks arrive in, or the output
  // would depend on read timing.
  let buf = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  const launch = () => {
    const p = gzipAsync(buf.subarray(0, filled), { level });
    // Rejections are observed when the promise is awaited in order below.
    p.catch(() => undefined);
    pending.push(p);
    buf = Buffer.allocUnsafe(chunkSize);
    filled = 0;
  };
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, chunkSize - filled);
      buf.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === chunkSize) {
        launch();
        while (pending.length >= concurrency) yield await (pending.shift() as Promise<Buffer>);
      }
    }
  }
  if (filled > 0 || pending.length === 0) launch();
  while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
}

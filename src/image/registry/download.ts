import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { errorMessage, RegistryError } from '../../util/errors.js';
import { exists } from '../../util/local-files.js';
import { log } from '../../util/log.js';
import type { Descriptor } from '../types.js';
import type { RegistryClient } from './client.js';

// A blob is downloaded into `<partialDir>/<hex>.partial`, hashed as it arrives, and renamed to its final
// path only when digest and size match. The partial file outlives the process: an interrupted download,
// in this run or a later one, continues with a Range request from the bytes already on disk. One process
// at a time downloads a given blob (a lock beside its partial file); another that wants it meanwhile
// waits and then finds it stored, instead of writing into the same partial file.

const attempts = 3;
const backoffMs = [1000, 3000];

export interface DownloadTarget {
  /** Where the verified blob ends up. */
  dest: string;
  /** Folder of `.partial` files, on the same file system as `dest`. */
  partialDir: string;
  /** Called with the number of new bytes as they arrive (negative when a partial file is discarded). */
  onBytes?: (n: number) => void;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export function partialPath(partialDir: string, digest: string): string {
  return join(partialDir, `${digest.replace(/^sha256:/, '')}.partial`);
}

export async function downloadBlob(
  client: RegistryClient,
  repository: string,
  desc: Descriptor,
  target: DownloadTarget,
): Promise<void> {
  await mkdir(target.partialDir, { recursive: true });
  await mkdir(dirname(target.dest), { recursive: true });
  const partial = partialPath(target.partialDir, desc.digest);
  const release = await lockfile.lock(partial, {
    realpath: false,
    stale: 30_000,
    update: 10_000,
    retries: { retries: 1200, minTimeout: 100, maxTimeout: 500 },
  });
  try {
    if (await exists(target.dest)) return;
    await fetchBlob(client, repository, desc, target, partial);
  } finally {
    await release();
  }
}

async function fetchBlob(
  client: RegistryClient,
  repository: string,
  desc: Descriptor,
  target: DownloadTarget,
  partial: string,
): Promise<void> {
  const where = `${client.registry}/${repository}@${desc.digest}`;
  let lastErr: unknown;
  const signal = client.signal;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(backoffMs[attempt - 1] ?? 3000, undefined, { signal });
    let offset = await sizeOf(partial);
    if (offset > desc.size) {
      await truncate(partial, 0);
      target.onBytes?.(-offset);
      offset = 0;
    }
    const hash = createHash('sha256');
    if (offset > 0) await hashFile(partial, hash);
    if (offset < desc.size) {
      if (offset > 0) log.debug(`${where}: resuming at byte ${offset}`);
      let res = await client.openBlob(repository, desc.digest, offset);
      if (res.statusCode === 416 || (offset > 0 && res.statusCode === 200)) {
        // The server cannot serve the rest of this copy: start over from byte 0.
        await res.body.dump();
        await truncate(partial, 0);
        target.onBytes?.(-offset);
        if (res.statusCode === 416) continue;
        offset = 0;
        res = await client.openBlob(repository, desc.digest, 0);
        if (res.statusCode !== 200) throw await client.failure(res, `GET blob ${where}`);
      } else if (res.statusCode === 404) {
        await res.body.dump();
        throw new RegistryError(`${where}: blob not found in the registry`);
      } else if (res.statusCode !== 200 && res.statusCode !== 206) {
        throw await client.failure(res, `GET blob ${where}`);
      }
      // a Transform rather than an async generator: one call per chunk and no promise, which is
      // measurable at a gigabyte of 64 KiB chunks
      const digesting = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          target.onBytes?.(chunk.length);
          done(null, chunk);
        },
      });
      // A large buffer lets chunks gather while a write is under way and go out as one writev: one
      // write call per 64 KiB chunk cost a third of the pull's main-thread time.
      const file = createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w', highWaterMark: 4 << 20 });
      try {
        await pipeline(res.body, digesting, file, { signal });
      } catch (err) {
        // pipeline rejects while the file's last write may still be under way: the next try must find the
        // partial file at its final size, or it would ask for bytes that are about to land and append them
        // twice
        if (!file.closed) await new Promise<void>((closed) => file.once('close', () => closed()));
        // An interrupted pull keeps its .partial file for the next one; it does not try again.
        signal.throwIfAborted();
        lastErr = err;
        log.debug(`${where}: download interrupted at ${await sizeOf(partial)} bytes: ${errorMessage(err)}`);
        continue;
      }
    }
    const got = `sha256:${hash.digest('hex')}`;
    const size = await sizeOf(partial);
    if (got !== desc.digest || size !== desc.size) {
      await rm(partial, { force: true });
      throw new RegistryError(
        `${where}: downloaded ${size} bytes with digest ${got}; expected ${desc.size} bytes`,
      );
    }
    await rename(partial, target.dest);
    return;
  }
  throw new RegistryError(`${where}: download failed after ${attempts} tries: ${errorMessage(lastErr)}`, {
    cause: lastErr,
  });
}

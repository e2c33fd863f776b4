import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { constants, deflateRaw, gzip } from 'node:zlib';
import { EnvironmentError, errorMessage } from '../util/errors.js';

// Layer compression on every core. The tar stream is cut into pieces of a fixed size, each compressed on
// its own, and the results are written in input order: several gzip members make one valid gzip file
// and several zstd frames one valid zstd stream, and since the cuts never depend on read timing the
// same input always gives the same bytes (the same digest). gzip runs on the libuv pool; Node 20 has no
// zstd, so zstd runs a WebAssembly build of the reference library (no native add-on, so it works in the
// single-file berth too) in worker threads, or on the main thread where no worker script exists.

const chunkSize = 4 << 20;
const gzipAsync = promisify(gzip);

/** Cuts `source` into `chunkSize` pieces and yields `compress` of each, in order, `concurrency` at once. */
async function* inParallel(
  source: AsyncIterable<Uint8Array>,
  compress: (piece: Buffer) => Promise<Buffer>,
  concurrency: number,
): AsyncGenerator<Buffer> {
  const pending: Array<Promise<Buffer>> = [];
  let buf = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  const launch = () => {
    const p = compress(buf.subarray(0, filled));
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

const deflateRawAsync = promisify(deflateRaw);
const sampleSlices = 4;
const sliceBytes = 32 << 10;
/** zlib's output buffer per call: large, so that a piece comes back in few callbacks on the main thread. */
const zlibChunk = 1 << 20;

type Effort = 'store' | 'huffman' | 'full';

/**
 * How much effort a piece repays, judged from a sample of it (so the choice, like the output, depends
 * on the bytes alone): data that does not shrink (the compressed image layers under registry/) is
 * stored; data where string matching gains under 2% over Huffman coding alone (high-entropy text) is
 * Huffman-coded; the rest is compressed in full.
 */
async function effortFor(piece: Buffer, level: number): Promise<Effort> {
  if (piece.length < sampleSlices * sliceBytes * 2) return 'full';
  const step = Math.floor(piece.length / sampleSlices);
  const sample = Buffer.concat(
    Array.from({ length: sampleSlices }, (_, i) => piece.subarray(i * step, i * step + sliceBytes)),
  );
  const [lz, huffman] = await Promise.all([
    deflateRawAsync(sample, { level }),
    deflateRawAsync(sample, { level, strategy: constants.Z_HUFFMAN_ONLY }),
  ]);
  if (Math.min(lz.length, huffman.length) >= sample.length * 0.97) return 'store';
  if (lz.length >= huffman.length * 0.98) return 'huffman';
  return 'full';
}

/** One gzip member per piece, with the effort it repays; every member is ordinary gzip. */
async function gzipPiece(piece: Buffer, level: number): Promise<Buffer> {
  const effort = await effortFor(piece, level);
  if (effort === 'store') return gzipAsync(piece, { level: 0, chunkSize: zlibChunk });
  if (effort === 'huffman')
    return gzipAsync(piece, { level, strategy: constants.Z_HUFFMAN_ONLY, chunkSize: zlibChunk });
  return gzipAsync(piece, { level, chunkSize: zlibChunk });
}

const zstdMaxBlock = 128 << 10;

/**
 * A zstd frame of raw (stored) blocks, for a piece that does not shrink: RFC 8878's frame header with
 * the single-segment flag and an 8-byte content size, then blocks of at most 128 KiB.
 */
export function rawZstdFrame(piece: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(piece.length / zstdMaxBlock));
  const out = Buffer.alloc(4 + 1 + 8 + blocks * 3 + piece.length);
  out.writeUInt32LE(0xfd2fb528, 0);
  out[4] = 0xe0;
  out.writeBigUInt64LE(BigInt(piece.length), 5);
  let at = 13;
  for (let b = 0; b < blocks; b++) {
    const start = b * zstdMaxBlock;
    const size = Math.min(zstdMaxBlock, piece.length - start);
    const header = (size << 3) | (b === blocks - 1 ? 1 : 0);
    out.writeUIntLE(header, at, 3);
    piece.copy(out, at + 3, start, start + size);
    at += 3 + size;
  }
  return out;
}

export function parallelGzip(
  source: AsyncIterable<Uint8Array>,
  level: number,
  concurrency = 4,
): AsyncGenerator<Buffer> {
  return inParallel(source, (piece) => gzipPiece(piece, level), concurrency);
}

interface Reply {
  id: number;
  out?: Uint8Array;
  error?: string;
}

/** A few worker threads, each holding one zstd instance; pieces go to whichever is free. */
class ZstdPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<() => void> = [];
  private readonly calls = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(script: URL, size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(script);
      w.on('message', (r: Reply) => {
        const call = this.calls.get(r.id);
        this.calls.delete(r.id);
        this.release(w);
        if (!call) return;
        if (r.out) call.resolve(Buffer.from(r.out.buffer, r.out.byteOffset, r.out.byteLength));
        else call.reject(unavailable(r.error ?? 'no output'));
      });
      w.on('error', (err) => {
        for (const c of this.calls.values()) c.reject(unavailable(errorMessage(err)));
        this.calls.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  async compress(piece: Buffer, level: number): Promise<Buffer> {
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    const w = this.idle.pop() as Worker;
    const id = this.nextId++;
    // The piece is copied so that its memory can be handed to the worker without a second copy there.
    const data = new Uint8Array(piece);
    return new Promise<Buffer>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      w.postMessage({ id, data, level }, [data.buffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function unavailable(why: string): EnvironmentError {
  return new EnvironmentError(
    `zstd compression is not available in this berth (${why}); build with --compression gzip, the default`,
  );
}

/** The worker script beside this module, or undefined where there is none (berth as one bundled file). */
function workerScript(): URL | undefined {
  try {
    const url = new URL('./zstd-worker.js', import.meta.url);
    return existsSync(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function* parallelZstd(
  source: AsyncIterable<Uint8Array>,
  level: number,
): AsyncGenerator<Buffer> {
  const script = workerScript();
  if (!script) {
    // One thread, the same bytes: pieces are cut and framed alike, only not compressed side by side.
    let zstd: { compress(data: Uint8Array, level?: number): Uint8Array };
    try {
      zstd = await (await import('@hpcc-js/wasm-zstd')).Zstd.load();
    } catch (err) {
      throw unavailable(errorMessage(err));
    }
    yield* inParallel(
      source,
      async (piece) =>
        (await effortFor(piece, 1)) === 'store'
          ? rawZstdFrame(piece)
          : Buffer.from(zstd.compress(piece, level)),
      1,
    );
    return;
  }
  const size = Math.max(1, Math.min(availableParallelism(), 8));
  const pool = new ZstdPool(script, size);
  try {
    // The WebAssembly coder is slow: pieces that would not shrink are stored as raw blocks instead.
    yield* inParallel(
      source,
      async (piece) =>
        (await effortFor(piece, 1)) === 'store' ? rawZstdFrame(piece) : pool.compress(piece, level),
      size * 2,
    );
  } finally {
    await pool.close();
  }
}

import { parentPort } from 'node:worker_threads';
import { Zstd } from '@hpcc-js/wasm-zstd';

// One thread of parallel-compress.ts's zstd pool: compresses each piece it is sent into one zstd frame.

const port = parentPort;
if (!port) throw new Error('zstd-worker.js runs only as a worker thread');
const ready = Zstd.load();
port.on('message', async (m: { id: number; data: Uint8Array; level: number }) => {
  try {
    const zstd = await ready;
    // Copied out of the WebAssembly memory, which the next call reuses, so that it can be transferred.
    const out = new Uint8Array(zstd.compress(m.data, m.level));
    port.postMessage({ id: m.id, out }, [out.buffer]);
  } catch (err) {
    port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});

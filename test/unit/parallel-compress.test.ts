// Layer compression: many gzip members that read back as the input, the same bytes every time, and
// effort matched to the data (already-compressed data stored, repetitive data deflated).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parallelGzip } from '../../src/image/parallel-compress.js';

async function gz(data: Buffer): Promise<Buffer> {
  async function* source() {
    for (let i = 0; i < data.length; i += 100_003) yield data.subarray(i, i + 100_003);
  }
  const out: Buffer[] = [];
  for await (const c of parallelGzip(source(), 1)) out.push(c);
  return Buffer.concat(out);
}

test('parallel gzip reads back as the input, is reproducible, and spends effort where it pays', async () => {
  const compressed = gzipSync(randomBytes(5 << 20));
  const text = Buffer.from('apiVersion: v1\nkind: ConfigMap\n'.repeat(300_000));
  const mixed = Buffer.concat([compressed, text]);
  const a = await gz(mixed);
  assert.ok(gunzipSync(a).equals(mixed));
  assert.ok((await gz(mixed)).equals(a), 'same input, same bytes');
  const stored = await gz(compressed);
  assert.ok(stored.length < compressed.length * 1.01, 'incompressible data is stored, not inflated');
  assert.ok((await gz(text)).length < text.length / 20, 'repetitive text is deflated');
});

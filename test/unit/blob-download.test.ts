// A blob download that stops part-way leaves its .partial file at its final size before it tries again or
// returns: the next try (or the next pull) reads that size as the Range to ask for. The disk is made slow
// by delaying the file writes, so a write is still under way when the download stops.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs, { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryClient } from '../../src/image/registry/client.js';
import { downloadBlob, partialPath } from '../../src/image/registry/download.js';
import { testDir } from '../helpers/test-dir.js';

const MiB = 1 << 20;

/** Each write to a file lands `ms()` milliseconds after it was asked for. */
function slowDisk(t: TestContext, ms: () => number): void {
  const writes = { write: fs.write, writev: fs.writev };
  for (const name of ['write', 'writev'] as const)
    t.mock.method(fs, name, (...args: unknown[]) => {
      setTimeout(() => (writes[name] as (...a: unknown[]) => void)(...args), ms());
    });
}

/** 24 MiB whose megabytes all differ, so bytes appended twice change the digest. */
function blobData() {
  const data = Buffer.concat(Array.from({ length: 24 }, (_, i) => Buffer.alloc(MiB, i)));
  return { data, desc: { mediaType: 'application/octet-stream', digest: sha256(data), size: data.length } };
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A registry client serving `data` from the offset asked for; `stop` is asked after
 * each megabyte of a response (`response` counts the responses from 0, `sent` the megabytes of this one)
 * and may end that response.
 */
function fakeClient(
  data: Buffer,
  signal: AbortSignal,
  stop: (response: number, sent: number, body: Readable) => boolean,
) {
  const offsets: number[] = [];
  const client = {
    registry: 'registry.test',
    signal,
    openBlob: async (_repo: string, _digest: string, offset = 0) => {
      const response = offsets.push(offset) - 1;
      let at = offset;
      const body = new Readable({
        // a megabyte each 20 ms, as over a link, so the disk sees the bytes before a cut
        read() {
          setTimeout(() => {
            if (at > offset && stop(response, (at - offset) / MiB, this)) return;
            if (at >= data.length) this.push(null);
            else {
              this.push(data.subarray(at, at + MiB));
              at += MiB;
            }
          }, 20);
        },
      });
      return { statusCode: offset > 0 ? 206 : 200, body: Object.assign(body, { dump: async () => {} }) };
    },
  } as unknown as RegistryClient;
  return { client, offsets };
}

test('an interrupted blob download returns only once its partial file has stopped growing', async (t) => {
  const dir = testDir(t, 'berth-download-');
  slowDisk(t, () => 300);
  const { data, desc } = blobData();
  const interrupt = new AbortController();
  const { client } = fakeClient(data, interrupt.signal, (_response, sent) => {
    // Ctrl-C with the last megabytes still on their way to the disk
    if (sent < 20) return false;
    interrupt.abort();
    return true;
  });
  const partialDir = join(dir, 'partial');
  await assert.rejects(downloadBlob(client, 'big', desc, { dest: join(dir, 'blob'), partialDir }), {
    name: 'AbortError',
  });
  const partial = partialPath(partialDir, desc.digest);
  const size = statSync(partial).size;
  await sleep(600);
  assert.equal(statSync(partial).size, size, 'the partial file grew after the download returned');
  assert.ok(size > 0 && size % MiB === 0, `partial holds ${size} bytes`);
  assert.deepEqual(
    readdirSync(partialDir),
    [`${desc.digest.slice(7)}.partial`],
    'the lock beside it is gone',
  );
});

test('a cut connection is resumed from the bytes on disk once the last write has landed', async (t) => {
  const dir = testDir(t, 'berth-download-');
  // The second try, which appends to the partial file, is cut while its last write is still under way;
  // that write lands after the third try's three-second wait has begun.
  let slow = false;
  slowDisk(t, () => (slow ? 3500 : 0));
  const { data, desc } = blobData();
  const { client, offsets } = fakeClient(data, new AbortController().signal, (response, sent, body) => {
    if (response === 1 && sent === 2) slow = true;
    if (response > 1 || sent < 4) return false;
    slow = false;
    body.destroy(new Error('other side closed'));
    return true;
  });
  const dest = join(dir, 'blob');
  await downloadBlob(client, 'big', desc, { dest, partialDir: join(dir, 'partial') });
  // by now any write of the cut try has landed, in the partial file or, late, in the blob verified
  await sleep(1500);
  assert.equal(sha256(readFileSync(dest)), desc.digest);
  assert.equal(offsets.length, 3, `ranges asked: ${offsets.join(' ')}`);
  assert.ok(
    offsets[0] === 0 && offsets[1]! < offsets[2]! && offsets[2]! % MiB === 0,
    `ranges asked: ${offsets.join(' ')}`,
  );
});

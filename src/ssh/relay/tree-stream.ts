import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { LocalTree } from '../local-tree.js';
import { REUSE_ENTRY, reuseListing, type StreamPlan } from './stream-plan.js';

// The planned part of a tree as one tar stream: first the list of files the hosts take from their
// existing tree (REUSE_ENTRY), then the entries under `t/`. Headers carry only what the tree holds (modes,
// mtimes, owner 0), so the same plan always gives the same bytes: berth hashes the stream once before
// sending it, and every host checks what it received, the list included, against that digest.

async function writeFile(sink: ReturnType<tarStream.Pack['entry']>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    if (!sink.write(chunk as Buffer)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

function newest(tree: LocalTree): Date {
  let t = 0;
  for (const e of tree.entries) t = Math.max(t, e.mtime.getTime());
  return new Date(t);
}

export function treeStream(tree: LocalTree, plan: StreamPlan): Readable {
  const pack = tarStream.pack();
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root' };
  (async () => {
    const mtime = newest(tree);
    pack.entry({ name: REUSE_ENTRY, mode: 0o600, mtime, ...owner }, reuseListing(plan));
    pack.entry({ name: 't', type: 'directory', mode: tree.rootMode, mtime, ...owner });
    for (const e of plan.entries) {
      const base = { name: `t/${e.rel}`, mode: e.mode, mtime: e.mtime, ...owner };
      if (e.type === 'file')
        await writeFile(pack.entry({ ...base, type: 'file', size: e.size }), tree.path(e.rel));
      else if (e.type === 'dir') pack.entry({ ...base, type: 'directory' });
      else pack.entry({ ...base, type: 'symlink', linkname: e.linkTarget });
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

export interface StreamDigest {
  sha256: string;
  size: number;
}

/** The sha256 and length of treeStream(tree, plan), by packing it once without sending it. */
export async function treeStreamDigest(tree: LocalTree, plan: StreamPlan): Promise<StreamDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of treeStream(tree, plan)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

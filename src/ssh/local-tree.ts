import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../util/errors.js';

export interface LocalEntry {
  /** Path relative to the tree root, `/`-separated, never empty. */
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  /** Permission bits (07777). */
  mode: number;
  mtime: Date;
  linkTarget?: string;
}

/**
 * A local directory tree to copy. File hashes are computed on demand and once, however many hosts ask,
 * since only files whose size matches a host's copy need one.
 */
export class LocalTree {
  private readonly hashes = new Map<string, Promise<string>>();

  private constructor(
    readonly root: string,
    readonly rootMode: number,
    readonly entries: LocalEntry[],
  ) {}

  static async scan(root: string): Promise<LocalTree> {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(root);
    } catch {
      throw new InputError(`${root}: no such local directory`);
    }
    if (!st.isDirectory()) throw new InputError(`${root}: not a directory`);
    const entries: LocalEntry[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        const path = join(dir, name);
        const rel = prefix ? `${prefix}/${name}` : name;
        const s = await lstat(path);
        const base = { rel, size: s.size, mode: s.mode & 0o7777, mtime: s.mtime };
        if (s.isDirectory()) {
          entries.push({ ...base, type: 'dir', size: 0 });
          await walk(path, rel);
        } else if (s.isFile()) entries.push({ ...base, type: 'file' });
        else if (s.isSymbolicLink())
          entries.push({ ...base, type: 'symlink', size: 0, linkTarget: await readlink(path) });
      }
    };
    await walk(root, '');
    return new LocalTree(root, st.mode & 0o7777, entries);
  }

  /** The same tree without `prefix` and everything below it (e.g. a rootfs without its registry/). */
  without(prefix: string): LocalTree {
    const keep = this.entries.filter((e) => e.rel !== prefix && !e.rel.startsWith(`${prefix}/`));
    const tree = new LocalTree(this.root, this.rootMode, keep);
    for (const [rel, h] of this.hashes) tree.hashes.set(rel, h);
    return tree;
  }

  get files(): LocalEntry[] {
    return this.entries.filter((e) => e.type === 'file');
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  sha256(rel: string): Promise<string> {
    let h = this.hashes.get(rel);
    if (!h) {
      h = hashFile(this.path(rel));
      this.hashes.set(rel, h);
    }
    return h;
  }
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

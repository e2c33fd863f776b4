import type { LocalEntry } from './local-tree.js';
import { shellQuote } from './shell.js';

// Before sending a tree, berth asks each host what it already has: sizes and modes of every file under
// the destination, then sha256 only of files whose size matches, so unchanged files cost no transfer.

export interface RemoteFile {
  size: number;
  mode: number;
}

export interface RemoteManifest {
  exists: boolean;
  files: Map<string, RemoteFile>;
}

const MISSING = 'berth:missing';

/** Lists `dir` as NUL-separated `size mode relpath` records, or prints a marker if it does not exist. */
export function listCommand(dir: string): string {
  const d = shellQuote(dir);
  return `if [ -d ${d} ]; then find ${d} -mindepth 1 -name '.berth-stage.*' -prune -o -type f -printf '%s %m %P\\0'; else printf '${MISSING}'; fi`;
}

export function parseListing(out: string): RemoteManifest {
  if (out === MISSING) return { exists: false, files: new Map() };
  const files = new Map<string, RemoteFile>();
  for (const rec of out.split('\0')) {
    if (rec === '') continue;
    const a = rec.indexOf(' ');
    const b = rec.indexOf(' ', a + 1);
    if (a < 0 || b < 0) continue;
    files.set(rec.slice(b + 1), {
      size: Number(rec.slice(0, a)),
      mode: Number.parseInt(rec.slice(a + 1, b), 8),
    });
  }
  return { exists: true, files };
}

/** Hashes the NUL-separated relative paths on stdin, printing `hash  path` records without escaping. */
export function hashCommand(dir: string): string {
  return `cd ${shellQuote(dir)} && xargs -0 -r sha256sum -z --`;
}

export function parseHashes(out: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const rec of out.split('\0')) {
    if (rec.length < 67) continue;
    hashes.set(rec.slice(66), rec.slice(0, 64));
  }
  return hashes;
}

export interface TreeDiff {
  /** Files (and symlinks) to send. */
  send: LocalEntry[];
  /** Files already there with the right content but other permission bits. */
  chmod: LocalEntry[];
  skipped: number;
}

/** Local files whose size matches the host's copy; only these need hashing on both sides. */
export function sizeMatches(local: LocalEntry[], remote: RemoteManifest): LocalEntry[] {
  return local.filter((e) => e.type === 'file' && remote.files.get(e.rel)?.size === e.size);
}

/** Decides per file: send it, only fix its mode, or leave it. */
export function diffTree(
  entries: LocalEntry[],
  remote: RemoteManifest,
  localHashes: Map<string, string>,
  remoteHashes: Map<string, string>,
): TreeDiff {
  const diff: TreeDiff = { send: [], chmod: [], skipped: 0 };
  for (const e of entries) {
    if (e.type === 'dir') continue;
    if (e.type === 'symlink') {
      diff.send.push(e);
      continue;
    }
    const r = remote.files.get(e.rel);
    const same =
      r !== undefined &&
      r.size === e.size &&
      localHashes.get(e.rel) !== undefined &&
      localHashes.get(e.rel) === remoteHashes.get(e.rel);
    if (!same) diff.send.push(e);
    else if (r.mode !== e.mode) diff.chmod.push(e);
    else diff.skipped++;
  }
  return diff;
}

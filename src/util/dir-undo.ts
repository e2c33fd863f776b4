import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// Lets a command that adds files to a user's directory (berth build filling CONTEXT/registry/) take them
// back when it fails: what was added goes, small files that were rewritten get their bytes back.

const keepBytes = 4096;

interface Seen {
  dirs: Set<string>;
  files: Map<string, Buffer | undefined>;
}

async function walk(dir: string, seen: Seen): Promise<void> {
  seen.dirs.add(dir);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, seen);
    else {
      const st = await lstat(path);
      seen.files.set(path, st.isFile() && st.size <= keepBytes ? await readFile(path) : undefined);
    }
  }
}

async function undoWalk(dir: string, seen: Seen): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!seen.dirs.has(path)) await rm(path, { recursive: true, force: true });
      else await undoWalk(path, seen);
    } else if (!seen.files.has(path)) await rm(path, { force: true });
    else {
      const before = seen.files.get(path);
      if (before && !before.equals(await readFile(path).catch(() => Buffer.alloc(0))))
        await writeFile(path, before);
    }
  }
}

/** Records `dir` as it is now; the function returned puts it back (removing it when it did not exist). */
export async function recordDir(dir: string): Promise<() => Promise<void>> {
  const existed = await lstat(dir).then(
    (st) => st.isDirectory(),
    () => false,
  );
  if (!existed) return () => rm(dir, { recursive: true, force: true });
  const seen: Seen = { dirs: new Set(), files: new Map() };
  await walk(dir, seen);
  return () => undoWalk(dir, seen);
}

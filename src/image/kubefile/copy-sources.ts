import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import dockerignore from '@balena/dockerignore';

// The package is CommonJS (`module.exports = factory`) but its types declare an ES default export; under
// NodeNext the default import is the factory itself at run time.
const ignore = dockerignore as unknown as typeof dockerignore.default;

// Finding the files a COPY/ADD names: globs matched segment by segment inside one root (the build
// context or an unpacked image), `.dockerignore` applied to the context.

export type IgnoreFilter = (relPath: string) => boolean;

/** A filter that says whether a context path is ignored by CONTEXT/.dockerignore (never when absent). */
export async function loadDockerignore(contextDir: string): Promise<IgnoreFilter> {
  let text: string;
  try {
    text = await readFile(join(contextDir, '.dockerignore'), 'utf8');
  } catch {
    return () => false;
  }
  const ig = ignore().add(text.split(/\r?\n/));
  return (rel) => rel !== '' && ig.ignores(rel);
}

const globChars = /[*?[]/;

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Root-relative paths matching `pattern` (already normalised, no leading `/`, no `..`), in sorted order.
 * A pattern without glob characters matches itself when it exists.
 */
export async function matchSources(root: string, pattern: string, ignored: IgnoreFilter): Promise<string[]> {
  const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
  let current = [''];
  for (const seg of segments) {
    const next: string[] = [];
    for (const dir of current) {
      if (!globChars.test(seg)) {
        const rel = dir ? `${dir}/${seg}` : seg;
        if (await exists(join(root, rel))) next.push(rel);
        continue;
      }
      const re = segmentRegex(seg);
      const names = await readdir(join(root, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) {
        const rel = dir ? `${dir}/${name}` : name;
        if (re.test(name) && !ignored(rel)) next.push(rel);
      }
    }
    current = next;
  }
  return current.filter((rel) => rel === '' || !ignored(rel));
}

/** Normalises a source path from a Kubefile, or returns undefined when it leaves the root. */
export function normaliseSource(src: string): string | undefined {
  const n = posix.normalize(src.replace(/^\/+/, ''));
  if (n === '..' || n.startsWith('../')) return undefined;
  return n === '.' ? '' : n.replace(/\/$/, '');
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

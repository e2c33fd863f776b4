// Renders the Go templates (`*.tmpl`) of a cluster image's root filesystem with the merged env, as sealos
// does before copying a rootfs to its hosts. See execute.ts for the exact Go semantics reproduced.

import { chmod, lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { InputError } from '../../util/errors.js';
import { execute } from './execute.js';
import { functions } from './functions.js';
import { TemplateError } from './lexer.js';
import { parse } from './parser.js';
import { GoMap } from './values.js';

const templateSuffix = '.tmpl';

/** Names of the template functions berth provides (Go builtins, the sprig subset, sealos' semverCompare). */
export const templateFunctionNames: readonly string[] = [...functions.keys()].sort();

/**
 * Renders Go template text with `data` as dot (a map[string]string in Go terms). `name` names the source in
 * errors, which are InputErrors of the form `NAME:LINE: message`.
 */
export function renderTemplate(text: string, data: Readonly<Record<string, string>>, name: string): string {
  try {
    const tree = parse(text, (fn) => functions.has(fn));
    return execute(tree, new GoMap(new Map(Object.entries(data)), 'string'));
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const hint = /^function ".*" not defined$/.test(err.message)
      ? `; berth provides: ${templateFunctionNames.join(' ')}`
      : '';
    throw new InputError(`${name}:${err.line}: ${err.message}${hint}`);
  }
}

async function listTemplates(dir: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await listTemplates(path, out);
    // Only regular files: a symlinked template could make berth read a file outside the image.
    else if (e.isFile() && e.name.endsWith(templateSuffix) && e.name.length > templateSuffix.length)
      out.push(path);
  }
}

/**
 * Renders every `*.tmpl` file below `dirs` of `rootDir` with `data` and writes the result next to it without
 * the suffix, keeping the template's permission bits. Returns the output paths (sorted), whether or not their
 * content changed; a file whose content and mode are already right is left untouched, so re-running is cheap.
 */
export async function renderTemplatesInDir(
  rootDir: string,
  data: Readonly<Record<string, string>>,
  dirs: readonly string[] = ['etc', 'scripts', 'manifests'],
): Promise<string[]> {
  const templates: string[] = [];
  for (const d of dirs) await listTemplates(join(rootDir, d), templates);
  templates.sort();
  const written: string[] = [];
  for (const path of templates) {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const rendered = renderTemplate(text, data, path);
    const target = path.slice(0, -templateSuffix.length);
    const mode = info.mode & 0o7777;
    if (!(await alreadyRendered(target, rendered, mode))) {
      await writeFileAtomic(target, rendered, mode);
      // The umask may have narrowed the mode given at creation.
      await chmod(target, mode);
    }
    written.push(target);
  }
  return written;
}

async function alreadyRendered(target: string, content: string, mode: number): Promise<boolean> {
  try {
    const info = await lstat(target);
    if (!info.isFile() || (info.mode & 0o7777) !== mode) return false;
    return (await readFile(target, 'utf8')) === content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

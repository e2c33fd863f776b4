import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EnvironmentError, errorMessage, InputError } from '../util/errors.js';
import { isNotInstalled, runProgram } from '../util/program.js';
import { parseReference } from './reference.js';

// The images a cluster image must carry in its registry/: listed by hand in images/shim/*, named in
// `image:` fields of the YAML under manifests/, and in the charts under charts/ as helm renders them.

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function filesBelow(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  if (!(await isDir(dir))) return [];
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(path, accept)));
    else if (entry.isFile() && accept(entry.name)) out.push(path);
  }
  return out;
}

/** Every string value of an `image` key, at any depth. */
function imageFields(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const v of node) imageFields(v, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'image' && typeof v === 'string' && v.trim()) out.push(v.trim());
      else imageFields(v, out);
    }
  }
}

export function imagesInYaml(text: string, where: string): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new InputError(`${where}: ${doc.errors[0]?.message.split('\n')[0]}`);
    imageFields(doc.toJS(), out);
  }
  return out;
}

async function helmTemplate(name: string, chartDir: string): Promise<string> {
  const r = await runProgram('helm', ['template', name, chartDir]).catch((e: unknown) => {
    throw isNotInstalled(e)
      ? new EnvironmentError(`helm not found: install helm to save the images of charts/${name}`)
      : e;
  });
  if (r.code !== 0)
    throw new InputError(`charts/${name}: helm template failed: ${r.stderr.trim().split('\n')[0]}`);
  return r.stdout;
}

function checkReference(ref: string, where: string): string {
  try {
    parseReference(ref);
  } catch (err) {
    throw new InputError(`${where}: ${errorMessage(err)}`);
  }
  return ref;
}

/** The image references a build context names, each once, in the order found. */
export async function collectImageList(contextDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await filesBelow(join(contextDir, 'images', 'shim'), () => true)) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      const ref = line.trim();
      if (ref && !ref.startsWith('#'))
        found.push(checkReference(ref, `${relative(contextDir, file)}:${i + 1}`));
    });
  }
  for (const file of await filesBelow(join(contextDir, 'manifests'), (n) => /\.ya?ml$/.test(n))) {
    const where = relative(contextDir, file);
    for (const ref of imagesInYaml(await readFile(file, 'utf8'), where))
      found.push(checkReference(ref, where));
  }
  const charts = join(contextDir, 'charts');
  if (await isDir(charts)) {
    for (const name of (await readdir(charts)).sort()) {
      const chartDir = join(charts, name);
      if (!(await isDir(chartDir))) continue;
      const rendered = await helmTemplate(name, chartDir);
      for (const ref of imagesInYaml(rendered, `charts/${name} (rendered)`))
        found.push(checkReference(ref, `charts/${name}`));
    }
  }
  return [...new Set(found)];
}

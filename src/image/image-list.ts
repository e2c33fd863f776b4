import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { errorMessage, InputError } from '../util/errors.js';
import { log } from '../util/log.js';
import { isNotInstalled, runProgram } from '../util/program.js';
import { parseReference } from './reference.js';

// The images a cluster image must carry in its registry/: listed by hand in images/shim/*, named in
// `image:` lines of the YAML under manifests/, and in the charts under charts/ as helm renders them (or
// berth, where helm is not installed).

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

/** Values that follow `image:` but name no image: block scalars, anchors, aliases, tags, null. */
const notAReference = /^([|>][-+0-9]*|[&*!].*|~|null|Null|NULL)$/;

/**
 * The image references in YAML text, found line by line as sealos finds them, so that manifests that are
 * not strict YAML (duplicate keys, templates, several documents glued together) still give their images:
 * a line whose key (the text before its first colon) ends with `image` names the image after the colon.
 * Flow mappings (`[{ image: x }]`) are read too. Template expressions cannot be resolved at build time
 * and are skipped with a warning; anything else that is not a reference fails with file:line.
 */
export function imagesInYaml(text: string, where: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const at = `${where}:${i + 1}`;
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) return;
    const values: string[] = [];
    const colon = line.indexOf(':');
    const key = colon < 0 ? '' : line.slice(0, colon).replace(/["']/g, '').trim();
    if (colon >= 0 && /(^|[\s-])[A-Za-z0-9_.-]*image$/.test(key) && !key.includes('#')) {
      values.push(line.slice(colon + 1));
    } else {
      for (const m of line.matchAll(/[{,]\s*["']?[A-Za-z0-9_.-]*image["']?\s*:([^,}]*)/g))
        values.push(m[1] as string);
    }
    for (const v of values) {
      const value = v
        .replace(/\s+#.*$/, '')
        .replace(/["'\s]/g, '')
        .replace(/[\]}]+$/, '');
      if (value === '' || notAReference.test(value)) continue;
      if (value.includes('{{')) {
        log.warn(`${at}: image ${value} is a template expression; its image is not saved`);
        continue;
      }
      out.push(checkReference(value, at));
    }
  });
  return out;
}

/**
 * What `helm template NAME DIR` prints; without helm installed, berth renders the chart itself
 * (chart/render.ts), which knows helm's objects and the functions charts commonly call.
 */
async function renderChartText(name: string, chartDir: string): Promise<string> {
  let r: { code: number; stdout: string; stderr: string };
  try {
    r = await runProgram('helm', ['template', name, chartDir]);
  } catch (err) {
    if (!isNotInstalled(err)) throw err;
    const { renderChart } = await import('./chart/render.js');
    return renderChart(name, chartDir);
  }
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
    found.push(...imagesInYaml(await readFile(file, 'utf8'), where));
  }
  const charts = join(contextDir, 'charts');
  if (await isDir(charts)) {
    for (const name of (await readdir(charts)).sort()) {
      const chartDir = join(charts, name);
      if (!(await isDir(chartDir))) continue;
      const rendered = await renderChartText(name, chartDir);
      found.push(...imagesInYaml(rendered, `charts/${name} (rendered)`));
    }
  }
  return [...new Set(found)];
}

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tar from 'tar';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../util/errors.js';
import { execute } from '../template/execute.js';
import { functions as builtins, type GoFunc } from '../template/functions.js';
import { TemplateError } from '../template/lexer.js';
import { parseSet, type TemplateNode } from '../template/parser.js';
import { FuncError, GoMap, type Value } from '../template/values.js';
import { chartFunctionNames, deepCopy, helmFunctions, mergeInto, toValue } from './helm-functions.js';

// `helm template NAME CHART` without helm, so that a build finds the images of charts/ on machines that
// have no helm: the chart's values.yaml with each enabled subchart's own values under the parent's (and
// `global` passed down), .Release/.Chart/.Capabilities as helm template sets them by default, every
// template of the chart and its subcharts in one set (so `include` reaches any `define`), `_*` files
// defining only. Only what the templates print is needed: the images are read from it.

/** What `helm template` reports when no --kube-version is given (the Kubernetes version it was built with). */
export const defaultKubeVersion = { major: '1', minor: '30' };
const helmVersion = 'v3.16.0';

interface LoadedChart {
  name: string;
  /** Path shown in messages: charts/web, charts/web/charts/redis. */
  shown: string;
  meta: Record<string, unknown>;
  values: GoMap;
  templates: Array<{ path: string; text: string }>;
  subcharts: LoadedChart[];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

async function readYaml(path: string, shown: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new InputError(`${shown}: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

async function loadChart(dir: string, shown: string, scratch: string[]): Promise<LoadedChart> {
  const meta = (await readYaml(join(dir, 'Chart.yaml'), `${shown}/Chart.yaml`)) as
    | Record<string, unknown>
    | undefined;
  if (!meta || typeof meta !== 'object') throw new InputError(`${shown}: no Chart.yaml; not a helm chart`);
  const rawValues = await readYaml(join(dir, 'values.yaml'), `${shown}/values.yaml`);
  const values = toValue(rawValues ?? {});
  const templates: LoadedChart['templates'] = [];
  for (const file of await filesBelow(join(dir, 'templates'))) {
    templates.push({ path: relative(dir, file), text: await readFile(file, 'utf8') });
  }
  const subcharts: LoadedChart[] = [];
  const subDir = join(dir, 'charts');
  for (const e of (await readdir(subDir, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(subDir, e.name);
    if (e.isDirectory()) subcharts.push(await loadChart(path, `${shown}/charts/${e.name}`, scratch));
    else if (e.isFile() && /\.tgz$/.test(e.name)) {
      const out = await mkdtemp(join(tmpdir(), 'berth-chart-'));
      scratch.push(out);
      await tar.x({ file: path, cwd: out });
      const [top] = await readdir(out);
      if (!top) throw new InputError(`${shown}/charts/${e.name}: empty chart archive`);
      subcharts.push(await loadChart(join(out, top), `${shown}/charts/${e.name}`, scratch));
    }
  }
  return {
    name: str(meta.name) || relative(join(dir, '..'), dir),
    shown,
    meta,
    values: values instanceof GoMap ? values : new GoMap(new Map(), 'interface {}'),
    templates,
    subcharts,
  };
}

function lookupPath(values: GoMap, path: string): Value {
  let v: Value = values;
  for (const part of path.split('.')) v = v instanceof GoMap ? v.entries.get(part) : undefined;
  return v;
}

/** A dependency's `condition` (first path that is set wins) decides whether a subchart renders. */
function enabled(chart: LoadedChart, sub: LoadedChart, values: GoMap): boolean {
  const deps = Array.isArray(chart.meta.dependencies)
    ? (chart.meta.dependencies as Array<Record<string, unknown>>)
    : [];
  const dep = deps.find((d) => str(d.alias || d.name) === sub.name || str(d.name) === sub.name);
  for (const path of str(dep?.condition)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const v = lookupPath(values, path);
    if (typeof v === 'boolean') return v;
  }
  return true;
}

function subchartName(chart: LoadedChart, sub: LoadedChart): string {
  const deps = Array.isArray(chart.meta.dependencies)
    ? (chart.meta.dependencies as Array<Record<string, unknown>>)
    : [];
  return str(deps.find((d) => str(d.name) === sub.name)?.alias) || sub.name;
}

function chartObject(meta: Record<string, unknown>): GoMap {
  const names: Record<string, string> = {
    apiVersion: 'APIVersion',
    appVersion: 'AppVersion',
    kubeVersion: 'KubeVersion',
  };
  const m = new Map<string, Value>();
  for (const [k, v] of Object.entries(meta))
    m.set(names[k] ?? k.charAt(0).toUpperCase() + k.slice(1), toValue(v));
  return new GoMap(m, 'interface {}');
}

function objects(pairs: Record<string, Value>): GoMap {
  return new GoMap(new Map(Object.entries(pairs)), 'interface {}');
}

interface Rendering {
  file: string;
  text: string;
  chart: LoadedChart;
  values: GoMap;
}

/** Coalesces values down the chart tree as helm does and lists every template to render with its values. */
function plan(chart: LoadedChart, supplied: GoMap, prefix: string, out: Rendering[]): void {
  const values = mergeInto(deepCopy(supplied) as GoMap, chart.values, false);
  for (const t of chart.templates) out.push({ file: `${prefix}${t.path}`, text: t.text, chart, values });
  for (const sub of chart.subcharts) {
    if (!enabled(chart, sub, values)) continue;
    const name = subchartName(chart, sub);
    const own = values.entries.get(name);
    const subValues = own instanceof GoMap ? (deepCopy(own) as GoMap) : new GoMap(new Map(), 'interface {}');
    const global = values.entries.get('global');
    if (global instanceof GoMap) {
      const subGlobal = subValues.entries.get('global');
      subValues.entries.set(
        'global',
        subGlobal instanceof GoMap
          ? mergeInto(deepCopy(global) as GoMap, subGlobal, false)
          : deepCopy(global),
      );
    }
    plan(sub, subValues, `${prefix}charts/${sub.name}/`, out);
  }
}

/** Renders `charts/<name>` as `helm template <name> <dir>` would print it (documents joined by ---). */
export async function renderChart(name: string, dir: string, shown = `charts/${name}`): Promise<string> {
  const scratch: string[] = [];
  try {
    const chart = await loadChart(dir, shown, scratch);
    const renderings: Rendering[] = [];
    plan(chart, new GoMap(new Map(), 'interface {}'), `${chart.name}/`, renderings);
    const allowed = new Set(chartFunctionNames());
    const defines = new Map<string, TemplateNode[]>();
    const roots = new Map<string, TemplateNode[]>();
    const where = (file: string, line: number) => `${shown} (template ${file}:${line})`;
    const parseIn = (text: string, file: string) => {
      try {
        return parseSet(text, (fn) => allowed.has(fn));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        const fn = /^function "(.*)" not defined$/.exec(err.message)?.[1];
        if (fn)
          throw new InputError(
            `${where(file, err.line)}: function "${fn}" is not one berth provides for charts; install helm to render this chart`,
          );
        throw new InputError(`${where(file, err.line)}: ${err.message}`);
      }
    };
    for (const r of renderings) {
      const set = parseIn(r.text, r.file);
      for (const [k, v] of set.defines) defines.set(k, v);
      roots.set(r.file, set.root);
    }
    const table = new Map<string, GoFunc>([...builtins, ...helmFunctions]);
    const options = { functions: table, templates: defines };
    table.set('include', {
      params: ['string', 'any'],
      call: (a) => {
        const body = defines.get(a[0] as string);
        if (!body) throw new FuncError(`no template "${a[0] as string}" associated with template "gotpl"`);
        return execute(body, a[1], options);
      },
    });
    table.set('tpl', {
      params: ['string', 'any'],
      call: (a) => {
        const set = parseIn(a[0] as string, 'tpl');
        for (const [k, v] of set.defines) defines.set(k, v);
        return execute(set.root, a[1], options);
      },
    });
    const kube = `v${defaultKubeVersion.major}.${defaultKubeVersion.minor}.0`;
    const capabilities = objects({
      KubeVersion: objects({
        Version: kube,
        GitVersion: kube,
        Major: defaultKubeVersion.major,
        Minor: defaultKubeVersion.minor,
      }),
      APIVersions: [
        'v1',
        'apps/v1',
        'batch/v1',
        'networking.k8s.io/v1',
        'policy/v1',
        'rbac.authorization.k8s.io/v1',
      ],
      HelmVersion: objects({ Version: helmVersion }),
    });
    const release = objects({
      Name: name,
      Namespace: 'default',
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    });
    const docs: string[] = [];
    for (const r of renderings) {
      const base = r.file.split('/').pop() as string;
      if (base.startsWith('_') || base === 'NOTES.txt') continue;
      const dot = objects({
        Values: r.values,
        Release: release,
        Chart: chartObject(r.chart.meta),
        Capabilities: capabilities,
        Template: objects({
          Name: r.file,
          BasePath: r.file.slice(0, r.file.lastIndexOf('/templates/') + '/templates'.length),
        }),
      });
      try {
        const text = execute(roots.get(r.file) as TemplateNode[], dot, options);
        if (text.trim()) docs.push(`# Source: ${r.file}\n${text}`);
      } catch (err) {
        if (err instanceof InputError) throw err;
        if (!(err instanceof TemplateError)) throw err;
        const hint = /is not a method but has arguments/.test(err.message)
          ? '; berth renders charts without helm and calls no methods (.Capabilities.APIVersions.Has, .Files.Get): install helm to render this chart'
          : '';
        throw new InputError(`${where(r.file, err.line)}: ${err.message}${hint}`);
      }
    }
    return docs.join('\n---\n');
  } finally {
    for (const d of scratch) await rm(d, { recursive: true, force: true });
  }
}

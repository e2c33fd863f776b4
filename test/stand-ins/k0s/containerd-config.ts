// k0s's containerd configuration (pkg/component/worker/containerd): /etc/k0s/containerd.toml, regenerated
// while its first line is `# k0s_managed=true`, imports every drop-in of /etc/k0s/containerd.d that has no
// CRI plugin table, then /run/k0s/containerd-cri.toml, last: k0s's own CRI config (the sandbox image) with
// every drop-in that has a `[plugins."io.containerd.grpc.v1.cri"]` table merged over it, because
// containerd replaces a plugin's section per import instead of merging it. The TOML read is the subset
// such drop-ins use: tables with dotted and quoted keys, strings, numbers, booleans, arrays and inline tables.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MANAGED_MARKER = '# k0s_managed=true';
export const CRI_PLUGIN = 'io.containerd.grpc.v1.cri';

type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlError extends Error {}

function splitKey(text: string, line: number): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new TomlError(`line ${line}: invalid key ${JSON.stringify(text)}`);
    out.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : (m[2] ?? m[3]));
    at = re.lastIndex;
    if (!m[4]) break;
  }
  return out;
}

class ValueReader {
  i = 0;
  constructor(
    private readonly s: string,
    private readonly line: number,
  ) {}

  private ws(): void {
    while (this.i < this.s.length) {
      if (/\s/.test(this.s[this.i])) this.i++;
      else if (this.s[this.i] === '#') while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      else break;
    }
  }

  rest(): string {
    this.ws();
    return this.s.slice(this.i);
  }

  value(): TomlValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(this.s.slice(this.i));
      if (!m) throw new TomlError(`line ${this.line}: unterminated string`);
      this.i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    if (c === "'") {
      const end = this.s.indexOf("'", this.i + 1);
      if (end < 0) throw new TomlError(`line ${this.line}: unterminated string`);
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return v;
    }
    if (c === '[') {
      this.i++;
      const arr: TomlValue[] = [];
      for (;;) {
        this.ws();
        if (this.s[this.i] === ']') {
          this.i++;
          return arr;
        }
        arr.push(this.value());
        this.ws();
        if (this.s[this.i] === ',') this.i++;
        else if (this.s[this.i] !== ']') throw new TomlError(`line ${this.line}: expected , or ] in array`);
      }
    }
    if (c === '{') {
      this.i++;
      const t: TomlTable = {};
      for (;;) {
        this.ws();
        if (this.s[this.i] === '}') {
          this.i++;
          return t;
        }
        const eq = this.s.indexOf('=', this.i);
        if (eq < 0) throw new TomlError(`line ${this.line}: expected = in inline table`);
        const key = splitKey(this.s.slice(this.i, eq).trim(), this.line);
        this.i = eq + 1;
        setPath(t, key, this.value(), this.line);
        this.ws();
        if (this.s[this.i] === ',') this.i++;
      }
    }
    const m = /^(true|false|[-+]?\d[\d_]*(\.\d+)?([eE][-+]?\d+)?)/.exec(this.s.slice(this.i));
    if (!m)
      throw new TomlError(
        `line ${this.line}: invalid value ${JSON.stringify(this.s.slice(this.i, this.i + 20))}`,
      );
    this.i += m[0].length;
    if (m[0] === 'true' || m[0] === 'false') return m[0] === 'true';
    return Number(m[0].replace(/_/g, ''));
  }
}

const isTable = (v: unknown): v is TomlTable => typeof v === 'object' && v !== null && !Array.isArray(v);

function tableAt(root: TomlTable, path: string[], line: number): TomlTable {
  let t = root;
  for (const k of path) {
    if (t[k] === undefined) t[k] = {};
    const next = t[k];
    if (!isTable(next)) throw new TomlError(`line ${line}: key ${k} is not a table`);
    t = next;
  }
  return t;
}

function setPath(root: TomlTable, path: string[], value: TomlValue, line: number): void {
  const t = tableAt(root, path.slice(0, -1), line);
  const k = path[path.length - 1];
  if (t[k] !== undefined && !(isTable(t[k]) && isTable(value)))
    throw new TomlError(`line ${line}: key ${path.join('.')} defined twice`);
  t[k] = isTable(t[k]) && isTable(value) ? mergeTables(t[k] as TomlTable, value) : value;
}

export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  let current = root;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].trim();
    if (!raw || raw.startsWith('#')) continue;
    const header = /^\[([^[\]]+)\]\s*(#.*)?$/.exec(raw);
    if (header) {
      current = tableAt(root, splitKey(header[1].trim(), n + 1), n + 1);
      continue;
    }
    if (/^\[\[/.test(raw)) throw new TomlError(`line ${n + 1}: arrays of tables are not supported`);
    const eq = raw.indexOf('=');
    if (eq < 0) throw new TomlError(`line ${n + 1}: expected key = value`);
    const key = splitKey(raw.slice(0, eq).trim(), n + 1);
    // a value may go on over several lines (arrays, inline tables)
    let body = raw.slice(eq + 1);
    for (;;) {
      const r = new ValueReader(body, n + 1);
      try {
        const v = r.value();
        if (r.rest() && !r.rest().startsWith('#'))
          throw new TomlError(`line ${n + 1}: unexpected ${r.rest()}`);
        setPath(current, key, v, n + 1);
        break;
      } catch (e) {
        if (n + 1 >= lines.length || !/^\s*[[{]/.test(body)) throw e;
        body += `\n${lines[++n]}`;
      }
    }
  }
  return root;
}

/** Tables merge key by key; anything else in the patch replaces what was there. */
export function mergeTables(base: TomlTable, patch: TomlTable): TomlTable {
  const out: TomlTable = { ...base };
  for (const [k, v] of Object.entries(patch))
    out[k] = isTable(v) && isTable(out[k]) ? mergeTables(out[k] as TomlTable, v) : v;
  return out;
}

const keyText = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

function inline(v: TomlValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (isTable(v))
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${keyText(k)} = ${inline(x)}`)
      .join(', ')} }`;
  return String(v);
}

export function writeToml(root: TomlTable): string {
  const out: string[] = [];
  const emit = (t: TomlTable, path: string[]) => {
    const scalars = Object.entries(t).filter(([, v]) => !isTable(v));
    const tables = Object.entries(t).filter(([, v]) => isTable(v)) as [string, TomlTable][];
    if (path.length && (scalars.length || !tables.length)) out.push('', `[${path.map(keyText).join('.')}]`);
    for (const [k, v] of scalars) out.push(`${path.length ? '  ' : ''}${keyText(k)} = ${inline(v)}`);
    for (const [k, v] of tables) emit(v, [...path, k]);
  };
  emit(root, []);
  return `${out.join('\n').replace(/^\n/, '')}\n`;
}

export interface ContainerdFiles {
  /** /etc/k0s/containerd.toml, or undefined when it is not k0s managed (left alone). */
  main?: string;
  cri: string;
}

/** The files k0s derives from the drop-ins; a drop-in that does not parse is an error naming it. */
export function containerdFiles(
  dropinDir: string,
  criPath: string,
  mainText: string | undefined,
  pauseImage: string,
): ContainerdFiles {
  const files = existsSync(dropinDir)
    ? readdirSync(dropinDir)
        .filter((f) => f.endsWith('.toml'))
        .sort()
        .map((f) => join(dropinDir, f))
    : [];
  let cri: TomlTable = { version: 2, plugins: { [CRI_PLUGIN]: { sandbox_image: pauseImage } } };
  const imports: string[] = [];
  for (const file of files) {
    let doc: TomlTable;
    try {
      doc = parseToml(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new TomlError(`failed to parse ${file}: ${(e as Error).message}`);
    }
    const plugins = doc.plugins;
    if (isTable(plugins) && isTable(plugins[CRI_PLUGIN]))
      cri = mergeTables(cri, { plugins: { [CRI_PLUGIN]: plugins[CRI_PLUGIN] } });
    else imports.push(file);
  }
  imports.push(criPath);
  const managed = mainText === undefined || mainText.split('\n')[0] === MANAGED_MARKER;
  const main = managed
    ? [
        MANAGED_MARKER,
        '# Generated by k0s from /etc/k0s/containerd.d; remove the first line to keep your own file.',
        'version = 2',
        'imports = [',
        ...imports.map((i) => `  ${JSON.stringify(i)},`),
        ']',
        '',
      ].join('\n')
    : undefined;
  return { ...(main ? { main } : {}), cri: writeToml(cri) };
}

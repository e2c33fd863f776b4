// The YAML that k3s reads (config.yaml, drop-ins, registries.yaml) is block maps, block lists, flow lists and
// scalars. The stand-in must run with Node built-ins only, so this parses that subset and names the line of
// anything outside it.

export class YamlSubsetError extends Error {}

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(raw: string): string {
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || raw[i - 1] === ' ' || raw[i - 1] === '\t')) {
      return raw.slice(0, i);
    }
  }
  return raw;
}

function toLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const body = stripComment(raw).replace(/\s+$/, '');
    if (!body.trim() || body === '---' || body === '...') return;
    const indent = body.length - body.trimStart().length;
    if (body.slice(0, indent).includes('\t')) {
      throw new YamlSubsetError(`yaml: line ${idx + 1}: found character that cannot start any token`);
    }
    out.push({ indent, text: body.slice(indent), no: idx + 1 });
  });
  return out;
}

function fail(line: Line, msg: string): never {
  throw new YamlSubsetError(`yaml: line ${line.no}: ${msg}`);
}

function plainScalar(text: string): unknown {
  if (/^(true|True|TRUE|yes|Yes|on|On)$/.test(text)) return true;
  if (/^(false|False|FALSE|no|No|off|Off)$/.test(text)) return false;
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^[-+]?(0|[1-9]\d*)$/.test(text)) return Number(text);
  return text;
}

function quoted(text: string, line: Line): [string, number] {
  const q = text[0];
  let i = 1;
  let out = '';
  while (i < text.length) {
    const c = text[i];
    if (q === "'" && c === "'" && text[i + 1] === "'") {
      out += "'";
      i += 2;
      continue;
    }
    if (c === q) return [q === '"' ? JSON.parse(`"${out}"`) : out, i + 1];
    if (q === '"' && c === '\\') {
      out += c + (text[i + 1] ?? '');
      i += 2;
      continue;
    }
    out += c === '"' ? '\\"' : c;
    i++;
  }
  return fail(line, 'found unexpected end of stream');
}

function flowValue(text: string, pos: number, line: Line): [unknown, number] {
  let i = pos;
  while (text[i] === ' ') i++;
  const c = text[i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    const list: unknown[] = [];
    const map: Record<string, unknown> = {};
    i++;
    for (;;) {
      while (text[i] === ' ') i++;
      if (text[i] === close) return [c === '[' ? list : map, i + 1];
      const [item, next] = flowValue(text, i, line);
      i = next;
      while (text[i] === ' ') i++;
      if (c === '{') {
        if (text[i] !== ':') fail(line, "did not find expected ':' in flow mapping");
        const [val, after] = flowValue(text, i + 1, line);
        map[String(item)] = val;
        i = after;
        while (text[i] === ' ') i++;
      } else {
        list.push(item);
      }
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(line, `did not find expected ',' or '${close}'`);
    }
  }
  if (c === '"' || c === "'") {
    const [s, end] = quoted(text.slice(i), line);
    return [s, i + end];
  }
  let end = i;
  while (end < text.length && !',]}'.includes(text[end]) && !(text[end] === ':' && text[end + 1] === ' '))
    end++;
  return [plainScalar(text.slice(i, end).trim()), end];
}

function inlineValue(text: string, line: Line): unknown {
  if (text.startsWith('|') || text.startsWith('>') || text.startsWith('&') || text.startsWith('*')) {
    fail(line, 'block scalars, anchors and aliases are not supported by the k3s stand-in');
  }
  if (text[0] === '[' || text[0] === '{' || text[0] === '"' || text[0] === "'") {
    const [v, end] = flowValue(text, 0, line);
    if (text.slice(end).trim()) fail(line, 'did not find expected <document end>');
    return v;
  }
  return plainScalar(text);
}

function splitKey(line: Line): [string, string] | undefined {
  const t = line.text;
  if (t[0] === '"' || t[0] === "'") {
    const [key, end] = quoted(t, line);
    const rest = t.slice(end).trimStart();
    if (!rest.startsWith(':')) return undefined;
    return [key, rest.slice(1).trim()];
  }
  const at = t.indexOf(': ');
  if (at > 0) return [t.slice(0, at).trim(), t.slice(at + 2).trim()];
  if (t.endsWith(':')) return [t.slice(0, -1).trim(), ''];
  return undefined;
}

const isSeqItem = (l: Line) => l.text === '-' || l.text.startsWith('- ');

class BlockParser {
  i = 0;
  constructor(private readonly lines: Line[]) {}

  node(indent: number): unknown {
    const line = this.lines[this.i];
    if (isSeqItem(line)) return this.seq(line.indent);
    if (splitKey(line)) return this.map(line.indent);
    this.i++;
    const value = inlineValue(line.text, line);
    const next = this.lines[this.i];
    if (next && next.indent > indent) fail(next, 'multi-line plain scalars are not supported');
    return value;
  }

  private childOf(indent: number, allowSameIndentSeq: boolean): unknown {
    const next = this.lines[this.i];
    if (!next) return null;
    if (next.indent > indent) return this.node(indent);
    if (allowSameIndentSeq && next.indent === indent && isSeqItem(next)) return this.seq(indent);
    return null;
  }

  private seq(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.indent !== indent || !isSeqItem(line)) break;
      const rest = line.text.slice(1).trimStart();
      if (!rest) {
        this.i++;
        out.push(this.childOf(indent, false));
        continue;
      }
      const offset = line.text.length - rest.length;
      // "- key: v" opens a map whose keys line up with "key".
      this.lines[this.i] = { indent: indent + offset, text: rest, no: line.no };
      out.push(this.node(indent));
    }
    const stray = this.lines[this.i];
    if (stray && stray.indent > indent) fail(stray, "did not find expected '-' indicator");
    return out;
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.indent !== indent || isSeqItem(line)) break;
      const kv = splitKey(line);
      if (!kv) fail(line, "could not find expected ':'");
      this.i++;
      out[kv[0]] = kv[1] ? inlineValue(kv[1], line) : this.childOf(indent, true);
    }
    const stray = this.lines[this.i];
    if (stray && stray.indent > indent) fail(stray, 'mapping values are not allowed in this context');
    return out;
  }
}

/** Parses one YAML document of the supported subset; an empty document gives null. */
export function parseYamlSubset(text: string): unknown {
  const lines = toLines(text);
  if (lines.length === 0) return null;
  const p = new BlockParser(lines);
  const value = p.node(-1);
  if (p.i < lines.length) fail(lines[p.i], 'did not find expected <document start>');
  return value;
}

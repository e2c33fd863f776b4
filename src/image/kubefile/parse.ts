import { InputError } from '../../util/errors.js';

// A Kubefile is a Dockerfile dialect with no RUN: berth never starts containers while building, so
// everything an image needs at install time goes into hook scripts it carries.

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number;
  keyword: string;
  /** `--name=value` flags before the arguments (COPY/ADD). */
  flags: Record<string, string>;
  /** The argument text after the keyword and flags, continuation lines joined. */
  text: string;
  /** Arguments given in JSON array form, when they were. */
  json?: string[];
}

const supported = ['FROM', 'COPY', 'ADD', 'ENV', 'ARG', 'LABEL', 'CMD', 'ENTRYPOINT', 'MAINTAINER'];

export function parseKubefile(source: string, file: string): Instruction[] {
  const lines = source.split(/\r?\n/);
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    let text = (lines[i] ?? '').trim();
    i++;
    if (text === '' || text.startsWith('#')) continue;
    while (text.endsWith('\\')) {
      text = text.slice(0, -1);
      // Comment and blank lines inside a continued instruction are skipped, as docker does.
      while (i < lines.length && /^\s*(#.*)?$/.test(lines[i] ?? '') && i < lines.length - 1) i++;
      if (i >= lines.length) break;
      text += ` ${(lines[i] ?? '').trim()}`;
      i++;
    }
    const m = /^(\S+)\s*(.*)$/s.exec(text) as RegExpExecArray;
    const keyword = (m[1] as string).toUpperCase();
    const at = `${file}:${start + 1}`;
    if (keyword === 'RUN') {
      throw new InputError(
        `${at}: RUN is not supported: berth runs no containers at build time; put the commands in a hook script (scripts/*.sh) that runs at install time`,
      );
    }
    if (!supported.includes(keyword)) {
      throw new InputError(`${at}: unknown instruction ${m[1]} (supported: ${supported.join(', ')})`);
    }
    let rest = (m[2] as string).trim();
    const flags: Record<string, string> = {};
    if (keyword === 'COPY' || keyword === 'ADD' || keyword === 'FROM') {
      let f: RegExpExecArray | null = /^--([a-z-]+)=(\S*)\s*/.exec(rest);
      while (f) {
        flags[f[1] as string] = f[2] as string;
        rest = rest.slice(f[0].length);
        f = /^--([a-z-]+)=(\S*)\s*/.exec(rest);
      }
    }
    const ins: Instruction = { line: start + 1, keyword, flags, text: rest };
    if (rest.startsWith('[')) {
      try {
        const parsed = JSON.parse(rest) as unknown;
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) ins.json = parsed;
      } catch {
        // Not JSON: docker treats it as the shell form, and so do we.
      }
    }
    if (rest === '' && keyword !== 'CMD' && keyword !== 'ENTRYPOINT') {
      throw new InputError(`${at}: ${keyword} needs arguments`);
    }
    out.push(ins);
  }
  return out;
}

/** Splits shell-like words, honouring single and double quotes and backslash escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** `KEY=value ...` pairs, or the legacy `KEY value with spaces` form of ENV and LABEL. */
export function parsePairs(text: string, at: string, keyword: string): Array<[string, string]> {
  const words = splitWords(text);
  const first = words[0] ?? '';
  if (!first.includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(text.trim());
    if (!m) throw new InputError(`${at}: ${keyword} needs KEY=value`);
    return [[m[1] as string, splitWords(m[2] as string).join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InputError(`${at}: ${keyword} argument "${w}" is not KEY=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`; `\$` stays a literal dollar. */
export function substitute(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced?: string, op?: string, word?: string, bare?: string) => {
      if (all === '\\$') return '\\$';
      const name = (braced ?? bare) as string;
      const value = vars.get(name);
      if (op === '-') return value ? value : (word ?? '');
      if (op === '+') return value ? (word ?? '') : '';
      return value ?? '';
    },
  );
}

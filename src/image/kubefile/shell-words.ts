// The word rules of Dockerfile arguments as buildah (and docker before BuildKit) apply them, so that a
// Kubefile written for `sealos build` means the same to berth: quotes and backslash escapes, `$VAR`,
// `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` (other modifiers are errors there, and here), and, for
// ENV/LABEL/ARG, words cut at spaces outside quotes before each key and value is expanded on its own.

/** Looks a variable up; undefined when unset. */
export type Lookup = (name: string) => string | undefined;

export class WordError extends Error {}

interface Piece {
  text: string;
  /** Quoted text and escaped characters never split a word. */
  literal: boolean;
}

class Scanner {
  private pos = 0;
  constructor(private readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  next(): string | undefined {
    return this.s[this.pos++];
  }
  get source(): string {
    return this.s;
  }
}

function isNameChar(c: string): boolean {
  return /[\p{L}\p{N}_]/u.test(c);
}

function processName(sc: Scanner): string {
  let name = '';
  for (let c = sc.peek(); c !== undefined; c = sc.peek()) {
    if (name === '' && /\p{N}/u.test(c)) return sc.next() as string;
    if (!isNameChar(c)) break;
    name += sc.next();
  }
  return name;
}

function processDollar(sc: Scanner, vars: Lookup): Piece[] {
  sc.next();
  if (sc.peek() !== '{') {
    const name = processName(sc);
    if (name === '') return [{ text: '$', literal: false }];
    return [{ text: vars(name) ?? '', literal: false }];
  }
  sc.next();
  const name = processName(sc);
  const c = sc.peek();
  if (c === '}') {
    sc.next();
    return [{ text: vars(name) ?? '', literal: false }];
  }
  if (c === ':') {
    sc.next();
    const modifier = sc.next();
    const word = processUntil(sc, vars, '}');
    const value = vars(name) ?? '';
    if (modifier === '+') return value !== '' ? word : [{ text: '', literal: false }];
    if (modifier === '-') return value === '' ? word : [{ text: value, literal: false }];
    throw new WordError(`unsupported modifier (${modifier ?? ''}) in substitution: ${sc.source}`);
  }
  throw new WordError(`missing ':' in substitution: ${sc.source}`);
}

function processSingleQuote(sc: Scanner): Piece {
  sc.next();
  const out: string[] = [];
  for (;;) {
    const c = sc.next();
    if (c === undefined)
      throw new WordError('unexpected end of text while looking for the matching single quote');
    if (c === "'") return { text: out.join(''), literal: true };
    out.push(c);
  }
}

function processDoubleQuote(sc: Scanner, vars: Lookup): Piece[] {
  sc.next();
  const out: Piece[] = [];
  for (;;) {
    const c = sc.peek();
    if (c === undefined)
      throw new WordError('unexpected end of text while looking for the matching double quote');
    if (c === '"') {
      sc.next();
      // An empty pair of quotes is still a word.
      out.push({ text: '', literal: true });
      return out;
    }
    if (c === '$') {
      for (const p of processDollar(sc, vars)) out.push({ text: p.text, literal: true });
      continue;
    }
    sc.next();
    if (c === '\\') {
      const n = sc.peek();
      if (n === undefined) continue;
      if (n === '"' || n === '$' || n === '\\') {
        out.push({ text: sc.next() as string, literal: true });
        continue;
      }
    }
    out.push({ text: c, literal: true });
  }
}

function processUntil(sc: Scanner, vars: Lookup, stop?: string): Piece[] {
  const out: Piece[] = [];
  for (let c = sc.peek(); c !== undefined; c = sc.peek()) {
    if (stop !== undefined && c === stop) {
      sc.next();
      return out;
    }
    if (c === "'") out.push(processSingleQuote(sc));
    else if (c === '"') out.push(...processDoubleQuote(sc, vars));
    else if (c === '$') out.push(...processDollar(sc, vars));
    else {
      sc.next();
      if (c === '\\') {
        const n = sc.next();
        if (n === undefined) break;
        out.push({ text: n, literal: true });
      } else out.push({ text: c, literal: false });
    }
  }
  if (stop !== undefined) throw new WordError(`missing '${stop}' in substitution: ${sc.source}`);
  return out;
}

/** One word: quotes removed, escapes and variables resolved, spaces kept (ENV/LABEL values, WORKDIR, USER). */
export function processWord(text: string, vars: Lookup): string {
  return processUntil(new Scanner(text), vars)
    .map((p) => p.text)
    .join('');
}

/**
 * Words cut at whitespace outside quotes, after expansion (an unquoted variable holding spaces gives
 * several words), as for COPY, ADD, EXPOSE, VOLUME and FROM.
 */
export function processWords(text: string, vars: Lookup): string[] {
  const words: string[] = [];
  let cur: string[] = [];
  let inWord = false;
  for (const p of processUntil(new Scanner(text), vars)) {
    if (p.literal) {
      cur.push(p.text);
      inWord = true;
      continue;
    }
    for (const c of p.text) {
      if (/\s/.test(c)) {
        if (inWord) words.push(cur.join(''));
        cur = [];
        inWord = false;
      } else {
        cur.push(c);
        inWord = true;
      }
    }
  }
  if (inWord) words.push(cur.join(''));
  return words;
}

/**
 * Cuts text at whitespace outside quotes, keeping quotes and escapes in the words (docker's parseWords):
 * the first pass over ENV/LABEL/ARG arguments, before each key and value is expanded.
 */
export function rawWords(text: string): string[] {
  const words: string[] = [];
  let word: string[] = [];
  let blankOk = false;
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      if (c === '\\' && quote !== "'" && quote !== undefined) {
        if (i + 1 === text.length) continue;
        word.push(c);
        word.push(text[++i] as string);
        continue;
      }
      word.push(c);
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord && (blankOk || word.length > 0)) words.push(word.join(''));
      word = [];
      blankOk = false;
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') {
      quote = c;
      blankOk = true;
    }
    if (c === '\\') {
      if (i + 1 === text.length) continue;
      word.push(c);
      word.push(text[++i] as string);
      continue;
    }
    word.push(c);
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word.join(''));
  return words;
}

/**
 * `KEY=value ...` pairs, or the legacy `KEY value with spaces` form, unexpanded: ENV and LABEL expand
 * every key and value with the variables as they were before the instruction.
 */
export function nameValuePairs(text: string, keyword: string): Array<[string, string]> {
  const words = rawWords(text);
  if (words.length === 0) throw new WordError(`${keyword} needs at least one argument`);
  if (!(words[0] as string).includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(text.trim());
    if (!m) throw new WordError(`${keyword} needs two arguments (KEY VALUE) or KEY=VALUE pairs`);
    return [[m[1] as string, m[2] as string]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new WordError(`cannot find = in ${JSON.stringify(w)}: want KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
